#pragma once
// The Communicator of a data-parallel run under MPI (OpenMPI's mpirun, or any MPI). Needs the
// build option CAUSALQWEN_WITH_MPI (target causalqwen::mpi), which links the MPI library.
//
// MpiSession initialises MPI for the program's lifetime (one per program, before any
// MpiCommunicator); the communicator reduces with MPI_Allreduce in place over MPI_COMM_WORLD.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/real.hpp>

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <span>
#include <type_traits>

namespace causalqwen::train {

class MpiSession {
 public:
  MpiSession(int& argc, char**& argv) {
    int initialised = 0;
    MPI_Initialized(&initialised);
    require(!initialised, "MpiSession: MPI is already initialised");
    require(MPI_Init(&argc, &argv) == MPI_SUCCESS, "MpiSession: MPI_Init failed");
  }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  ~MpiSession() { MPI_Finalize(); }
};

class MpiCommunicator {
 public:
  MpiCommunicator() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const { return rank_; }
  int size() const { return size_; }

  template <Real T>
  void sum(std::span<T> values) {
    const MPI_Datatype type = std::is_same_v<T, float> ? MPI_FLOAT : MPI_DOUBLE;
    // MPI counts are int: a block beyond INT_MAX entries goes in pieces.
    for (std::size_t done = 0; done < values.size();) {
      const std::size_t count = std::min<std::size_t>(values.size() - done, std::size_t(INT_MAX));
      require(MPI_Allreduce(MPI_IN_PLACE, values.data() + done, static_cast<int>(count), type, MPI_SUM,
                            MPI_COMM_WORLD) == MPI_SUCCESS,
              "MpiCommunicator: MPI_Allreduce of ", count, " values failed on rank ", rank_);
      done += count;
    }
  }
  void barrier() { MPI_Barrier(MPI_COMM_WORLD); }

 private:
  int rank_ = 0, size_ = 1;
};

}  // namespace causalqwen::train
