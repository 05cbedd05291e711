// .npy hidden-state files: round trips in float32/float64 and C/Fortran order; wrong shape, dtype,
// truncated, padded or malformed files are errors naming the file.
#include <causalqwen/core/atomic_file.hpp>
#include <causalqwen/domain/features.hpp>

#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>

#include "../support/scratch.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

namespace causalqwen_tests_domain_features {

using namespace causalqwen;
using namespace causalqwen::domain;

namespace {

const std::filesystem::path scratch = causalqwen::testing::scratch_directory(__FILE__);

RowMatrix<double> sample(Eigen::Index n, Eigen::Index h) {
  RowMatrix<double> m(n, h);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = std::sin(double(i) * 1.7) * std::pow(10.0, double(i % 7) - 3);
  return m;
}

std::filesystem::path write_bytes(const std::string& name, const std::string& bytes) {
  write_file_atomically(scratch / name, bytes);
  return scratch / name;
}

std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// A hand-made .npy v1.0 file with the given header dictionary and data.
std::string npy(const std::string& dict, const std::string& data) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 16 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += char(1);
  out += char(0);
  out += char(header.size() & 0xff);
  out += char(header.size() >> 8);
  return out + header + data;
}

}  // namespace

TEST_CASE("features round trip bit-exact; float32 files are widened") {
  const auto m = sample(7, 5);
  save_features(scratch / "h.npy", m);
  const auto back = load_features<double>(scratch / "h.npy", 5);
  REQUIRE(back.rows() == 7);
  REQUIRE(back.cols() == 5);
  CHECK(std::memcmp(back.data(), m.data(), sizeof(double) * 35) == 0);
  CHECK(load_features<double>(scratch / "h.npy").cols() == 5);

  const RowMatrix<float> mf = m.cast<float>();
  save_features(scratch / "hf.npy", mf);
  const auto widened = load_features<double>(scratch / "hf.npy", 5);
  CHECK((widened - mf.cast<double>()).cwiseAbs().maxCoeff() == 0);

  // Fortran order (numpy's column-major dump) reads as the same matrix.
  std::string data(35 * 8, '\0');
  for (Eigen::Index c = 0, i = 0; c < 5; ++c)
    for (Eigen::Index r = 0; r < 7; ++r, ++i) std::memcpy(data.data() + i * 8, &m(r, c), 8);
  const auto f = write_bytes("fortran.npy", npy("{'descr': '<f8', 'fortran_order': True, 'shape': (7, 5), }", data));
  CHECK(load_features<double>(f, 5) == m);
  // an empty batch is a valid [0 x H] file
  const auto empty = write_bytes("empty.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 5), }", ""));
  CHECK(load_features<double>(empty, 5).rows() == 0);
}

TEST_CASE("wrong shape, dtype, truncated, padded and malformed .npy files are errors") {
  const auto m = sample(4, 3);
  save_features(scratch / "good.npy", m);
  const std::string good = read_bytes(scratch / "good.npy");

  CHECK_THROWS_WITH_AS(load_features<double>(scratch / "good.npy", 4), doctest::Contains("expected H = 4"),
                       causalqwen::error);
  CHECK_THROWS_WITH_AS(load_features<double>(scratch / "missing.npy"), doctest::Contains("missing.npy"),
                       causalqwen::error);

  const xt::xarray<std::int32_t> ints = {{1, 2, 3}, {4, 5, 6}};
  const auto int_file = write_bytes("ints.npy", xt::dump_npy(ints));
  CHECK_THROWS_WITH_AS(load_features<double>(int_file), doctest::Contains("float32 or float64"), causalqwen::error);

  const xt::xarray<double> cube = xt::zeros<double>({2, 2, 2});
  CHECK_THROWS_WITH_AS(load_features<double>(write_bytes("cube.npy", xt::dump_npy(cube))),
                       doctest::Contains("2-D"), causalqwen::error);
  const xt::xarray<double> flat = {1.0, 2.0};
  CHECK_THROWS_WITH_AS(load_features<double>(write_bytes("flat.npy", xt::dump_npy(flat))), doctest::Contains("2-D"),
                       causalqwen::error);

  for (const std::size_t keep : {std::size_t(0), std::size_t(7), std::size_t(9), std::size_t(40), good.size() - 8,
                                 good.size() - 1}) {
    INFO("kept ", keep, " of ", good.size());
    CHECK_THROWS_AS(load_features<double>(write_bytes("cut.npy", good.substr(0, keep))), causalqwen::error);
  }
  CHECK_THROWS_WITH_AS(load_features<double>(write_bytes("padded.npy", good + "xxxxxxxx")),
                       doctest::Contains("padded"), causalqwen::error);

  std::string bad_magic = good;
  bad_magic[1] = 'X';
  CHECK_THROWS_WITH_AS(load_features<double>(write_bytes("magic.npy", bad_magic)), doctest::Contains("magic"),
                       causalqwen::error);

  const std::string data(16, '\0');
  for (const char* dict : {"{'descr': '>f8', 'fortran_order': False, 'shape': (2, 1), }",
                           "{'descr': '<f8', 'fortran_order': False, 'shape': }",
                           "{'descr': '<f8', 'shape': (2, 1), }",
                           "{'descr': '<f8', 'fortran_order': maybe, 'shape': (2, 1), }",
                           "", "{}", "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999, 1), }",
                           "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"}) {
    INFO(dict);
    CHECK_THROWS_AS(load_features<double>(write_bytes("dict.npy", npy(dict, data))), causalqwen::error);
  }

  RowMatrix<double> nan = m;
  nan(2, 1) = std::numeric_limits<double>::quiet_NaN();
  save_features(scratch / "nan.npy", nan);
  CHECK_THROWS_WITH_AS(load_features<double>(scratch / "nan.npy"), doctest::Contains("(2, 1) is not finite"),
                       causalqwen::error);
}

TEST_CASE("hostile .npy headers end in an error naming the file, in bounded time and stack") {
  // std::regex recursed once per repetition: these 30-40 KB headers overflowed the stack (SIGSEGV).
  std::string many = "{'descr': '<f8', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < 15000; ++i) many += "1,";
  many += "), }";
  CHECK_THROWS_WITH_AS(load_features<double>(write_bytes("rank.npy", npy(many, std::string(8, '\0')))),
                       doctest::Contains("rank.npy"), causalqwen::error);
  const std::string digits = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + std::string(30000, '7') + ", 1), }";
  CHECK_THROWS_WITH_AS(load_features<double>(write_bytes("digits.npy", npy(digits, std::string(8, '\0')))),
                       doctest::Contains("digits.npy"), causalqwen::error);
  // extents whose product overflows 64 bits, and a shape larger than the file
  for (const char* dict : {"{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
                           "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 3), }"}) {
    INFO(dict);
    CHECK_THROWS_WITH_AS(load_features<double>(write_bytes("big.npy", npy(dict, std::string(24, '\0')))),
                         doctest::Contains("big.npy"), causalqwen::error);
  }
}

TEST_CASE("a directory given as the features file is reported as a directory, with its path") {
  const std::string want = scratch.string() + ": is a directory";
  CHECK_THROWS_WITH_AS(load_features<double>(scratch), doctest::Contains(want.c_str()), causalqwen::error);
}

}  // namespace causalqwen_tests_domain_features
