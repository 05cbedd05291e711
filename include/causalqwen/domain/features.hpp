#pragma once
// Hidden-state batches [N x H] as NumPy .npy files (the format a Python backbone dump produces).
// Reading is strict (io/npy.hpp parses and checks the header): a 2-D little-endian float32/float64
// array (C or Fortran order) with exactly `expected_hidden` columns, a data section of exactly
// N * H elements (a truncated or padded file is refused), finite values. Every problem is a
// causalqwen::error naming the file.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/io/file.hpp>
#include <causalqwen/io/npy.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace causalqwen::domain {

/// Writes h as a C-order .npy file (float64 for double, float32 for float), atomically.
template <Real T>
void save_features(const std::filesystem::path& file, const RowMatrix<T>& h) {
  const std::uint64_t shape[2] = {static_cast<std::uint64_t>(h.rows()), static_cast<std::uint64_t>(h.cols())};
  io::save_npy<T>(file, std::span<const T>(h.data(), static_cast<std::size_t>(h.size())), shape);
}

/// Reads an [N x H] .npy file; H must equal `expected_hidden` (0: any H).
template <Real T>
RowMatrix<T> load_features(const std::filesystem::path& file, std::size_t expected_hidden = 0) {
  const std::string where = file.string();
  const std::string bytes = io::read_file(file, "features file");
  const io::NpyArray array = io::parse_npy(bytes, where);
  require(array.shape.size() == 2, where, ": features must be a 2-D array [N x H], got ", array.shape.size(),
          " dimensions");
  const std::uint64_t n = array.shape[0], h = array.shape[1];
  require(h > 0 && h <= (std::uint64_t(1) << 32), where, ": features have an implausible H = ", h);
  require(expected_hidden == 0 || h == expected_hidden, where, ": features have H = ", h, " columns, expected H = ",
          expected_hidden);

  RowMatrix<T> out(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(h));
  for (std::size_t i = 0; i < array.elements; ++i) {
    const T value = io::npy_element<T>(bytes, array, i);
    // Fortran order stores column by column.
    const std::size_t r = array.fortran_order ? i % n : i / h;
    const std::size_t c = array.fortran_order ? i / n : i % h;
    require(std::isfinite(value), where, ": feature (", r, ", ", c, ") is not finite");
    out(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) = value;
  }
  return out;
}

}  // namespace causalqwen::domain
