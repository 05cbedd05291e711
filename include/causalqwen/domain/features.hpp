#pragma once
// Hidden-state batches [N x H] as NumPy .npy files (the format a Python backbone dump produces).
// Reading is strict: a 2-D little-endian float32/float64 array (C or Fortran order) with exactly
// `expected_hidden` columns, a data section of exactly N * H elements (a truncated or padded file
// is refused), finite values. The header is read with xtensor's npy parser after its length,
// terminator and dictionary syntax have been checked, so a malformed header cannot reach the
// parser's unchecked paths. Every problem is a causalqwen::error naming the file.

#include <causalqwen/core/atomic_file.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>

#include <xtensor/xadapt.hpp>
#include <xtensor/xnpy.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

namespace causalqwen::domain {

/// Writes h as a C-order .npy file (float64 for double, float32 for float), atomically.
template <Real T>
void save_features(const std::filesystem::path& file, const RowMatrix<T>& h) {
  const std::vector<std::size_t> shape{static_cast<std::size_t>(h.rows()), static_cast<std::size_t>(h.cols())};
  const auto view = xt::adapt(h.data(), static_cast<std::size_t>(h.size()), xt::no_ownership(), shape);
  write_file_atomically(file, xt::dump_npy(view));
}

/// Reads an [N x H] .npy file; H must equal `expected_hidden` (0: any H).
template <Real T>
RowMatrix<T> load_features(const std::filesystem::path& file, std::size_t expected_hidden = 0) {
  static_assert(std::endian::native == std::endian::little, "npy reading assumes a little-endian host");
  const std::string where = file.string();
  std::ifstream in(file, std::ios::binary);
  require(static_cast<bool>(in), where, ": cannot open the features file");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto u8 = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])); };
  require(bytes.size() >= 10 && bytes.compare(0, 6, "\x93NUMPY") == 0, where, ": not a .npy file (bad magic)");
  const unsigned major = u8(6);
  require(major >= 1 && major <= 3 && u8(7) == 0, where, ": unsupported .npy version ", major, ".", u8(7));
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  require(bytes.size() >= 8 + length_bytes, where, ": truncated .npy header");
  std::size_t header_length = u8(8) | (u8(9) << 8);
  if (length_bytes == 4) header_length |= (static_cast<std::size_t>(u8(10)) << 16) | (static_cast<std::size_t>(u8(11)) << 24);
  const std::size_t data_offset = 8 + length_bytes + header_length;
  require(header_length > 0 && bytes.size() >= data_offset, where, ": truncated .npy header (", header_length,
          " header bytes announced)");
  const std::string header = bytes.substr(8 + length_bytes, header_length);
  require(header.back() == '\n', where, ": .npy header does not end in a newline");
  std::string compact;
  std::copy_if(header.begin(), header.end() - 1, std::back_inserter(compact), [](char c) { return c != ' '; });
  static const std::regex dictionary(
      R"(\{'descr':'[<>|=][a-zA-Z]\d+','fortran_order':(True|False),'shape':\((\d+,)*\d*\),?\})");
  require(std::regex_match(compact, dictionary), where, ": .npy header is not a plain dtype/order/shape dictionary: ",
          compact);
  std::string descr;
  bool fortran = false;
  std::vector<std::size_t> shape;
  try {
    xt::detail::parse_header(header, descr, &fortran, shape);
  } catch (const std::exception& e) {
    fail(where, ": bad .npy header: ", e.what());
  }
  require(descr == "<f8" || descr == "<f4", where, ": features must be little-endian float32 or float64, got dtype '",
          descr, "'");
  require(shape.size() == 2, where, ": features must be a 2-D array [N x H], got ", shape.size(), " dimensions");
  const std::size_t n = shape[0], h = shape[1];
  require(h > 0 && h <= (std::size_t(1) << 32), where, ": features have an implausible H = ", h);
  require((expected_hidden == 0 || h == expected_hidden), where, ": features have H = ", h,
          " columns, expected H = ", expected_hidden);
  const std::size_t word = descr == "<f8" ? 8 : 4;
  require(n <= (bytes.size() - data_offset) / word / h + 1, where, ": .npy shape [", n, ", ", h,
          "] does not fit the file");
  const std::size_t expected_bytes = n * h * word;
  require(bytes.size() - data_offset == expected_bytes, where, ": .npy data section has ", bytes.size() - data_offset,
          " bytes, the shape [", n, ", ", h, "] needs ", expected_bytes, " (truncated or padded file)");

  RowMatrix<T> out(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(h));
  const char* data = bytes.data() + data_offset;
  for (std::size_t i = 0; i < n * h; ++i) {
    T value;
    if (word == 8) {
      double v;
      std::memcpy(&v, data + i * 8, 8);
      value = static_cast<T>(v);
    } else {
      float v;
      std::memcpy(&v, data + i * 4, 4);
      value = static_cast<T>(v);
    }
    // Fortran order stores column by column.
    const std::size_t r = fortran ? i % std::max<std::size_t>(n, 1) : i / h;
    const std::size_t c = fortran ? i / std::max<std::size_t>(n, 1) : i % h;
    require(std::isfinite(value), where, ": feature (", r, ", ", c, ") is not finite");
    out(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) = value;
  }
  return out;
}

}  // namespace causalqwen::domain
