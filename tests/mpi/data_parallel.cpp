// Run under `mpirun -np 2`: both ranks train the same fresh model data-parallel (each computes
// half of every global batch, gradients summed with MPI_Allreduce), then rank 0 trains it again
// as one process on the same global batches and compares every parameter. In double, the only
// difference is the order of the floating-point sums (each rank's half first), so the two runs
// agree to ~1e-13 after a few AdamW steps; 1e-9 leaves room for the moment normalisation, which
// can amplify a rounding difference where a gradient entry is near zero.

#include <causalqwen/model/causal_lm_trainer.hpp>
#include <causalqwen/train/mpi_communicator.hpp>

#include "../model/trainer_fixtures.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

using namespace causalqwen;

int main(int argc, char** argv) {
  train::MpiSession session(argc, argv);
  train::MpiCommunicator world;
  try {
    require(world.size() == 2, "run this test with mpirun -np 2 (got ", world.size(), " ranks)");
    const model::testing::TrainerSetup<double> setup;
    const auto data = setup.fresh().pack(setup.documents, 24);
    model::CausalTrainingOptions<double> options;
    options.steps = 3;
    options.batch_size = 6;
    options.micro_batch = 2;
    options.seed = 4;
    options.optimizer.learning_rate = 3e-3;

    auto parallel = setup.fresh();
    const auto report = model::train_causal_lm(parallel, data, {}, options, world);
    if (world.rank() != 0) return 0;

    auto single = setup.fresh();
    const auto reference = model::train_causal_lm(single, data, {}, options);
    double worst = 0, loss_gap = 0;
    const auto a = parallel.parameters(), b = single.parameters();
    head::for_each_block_pair(a, b, [&](const std::string&, const auto& x, const auto& y) {
      if (x.size() > 0) worst = std::max(worst, (x - y).cwiseAbs().maxCoeff());
    });
    for (std::size_t s = 0; s < report.log.size(); ++s)
      loss_gap = std::max(loss_gap, std::abs(report.log[s].loss - reference.log[s].loss) / reference.log[s].loss);
    std::printf("2 ranks vs 1 process, %zu steps: largest parameter difference %.3g, loss relative gap %.3g\n",
                report.steps, worst, loss_gap);
    const bool moved = [&] {
      double change = 0;
      const auto start = setup.fresh().parameters();
      head::for_each_block_pair(a, start, [&](const std::string&, const auto& x, const auto& y) {
        if (x.size() > 0) change = std::max(change, (x - y).cwiseAbs().maxCoeff());
      });
      return change > 1e-4;
    }();
    if (!(worst <= 1e-9 && loss_gap <= 1e-12 && moved && report.steps == 3)) {
      std::fprintf(stderr, "FAILED: the data-parallel run differs from the one-process run (or did not train)\n");
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: error: %s\n", world.rank(), e.what());
    return 1;
  }
}
