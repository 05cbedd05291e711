#include "../support/errors.hpp"
#include "../support/scratch.hpp"

#include <causalqwen/io/checkpoint.hpp>
#include <causalqwen/io/safetensors.hpp>

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>

namespace causalqwen_tests_io_safetensors {

namespace fs = std::filesystem;
using causalqwen::testing::error_of;
using namespace causalqwen;
using namespace causalqwen::io;

namespace {

fs::path scratch(const std::string& name) {
  const fs::path dir = causalqwen::testing::scratch_directory(__FILE__) / "safetensors";
  fs::create_directories(dir);
  return dir / name;
}

/// Writes a file with an arbitrary header and data section, bypassing the writer's checks.
void write_raw(const fs::path& file, const std::string& header, std::size_t data_bytes,
               std::uint64_t declared_length = std::numeric_limits<std::uint64_t>::max()) {
  const std::uint64_t length = declared_length == std::numeric_limits<std::uint64_t>::max() ? header.size() : declared_length;
  std::string bytes(8, '\0');
  std::memcpy(bytes.data(), &length, 8);
  bytes += header;
  bytes.append(data_bytes, '\x01');
  write_file_atomically(file, bytes);
}

bool contains_all(const std::string& text, std::initializer_list<std::string_view> parts) {
  for (std::string_view part : parts)
    if (text.find(part) == std::string::npos) return false;
  return true;
}

template <class T>
RowMatrix<T> random_matrix(int rows, int cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<T> normal;
  RowMatrix<T> m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
  return m;
}

}  // namespace

TEST_CASE("float and double matrices and vectors round-trip bit-exactly") {
  const RowMatrix<float> a = random_matrix<float>(7, 5, 1);
  const RowMatrix<double> b = random_matrix<double>(3, 11, 2);
  Vector<double> v = random_matrix<double>(9, 1, 3).col(0);
  v[0] = std::numeric_limits<double>::denorm_min();
  v[1] = -0.0;
  Vector<float> w = random_matrix<float>(4, 1, 4).col(0);
  SafetensorsWriter writer;
  writer.add("a", a);
  writer.add("b", b);
  writer.add("v", v);
  writer.add("w", w);
  writer.set_metadata("format", "pt");
  const fs::path file = scratch("round_trip.safetensors");
  writer.write(file);

  const SafetensorsReader reader(file);
  CHECK(reader.names() == std::vector<std::string>{"a", "b", "v", "w"});
  CHECK(reader.metadata().at("format") == "pt");
  CHECK(reader.tensor("a").dtype == DType::F32);
  CHECK(reader.tensor("b").dtype == DType::F64);
  CHECK(reader.tensor("b").shape == std::vector<std::int64_t>{3, 11});
  CHECK(reader.tensor("b").element_count() == 33);
  const RowMatrix<float> a2 = reader.matrix<float>("a");
  const RowMatrix<double> b2 = reader.matrix<double>("b");
  const Vector<double> v2 = reader.vector<double>("v");
  CHECK(std::memcmp(a2.data(), a.data(), sizeof(float) * 35) == 0);
  CHECK(std::memcmp(b2.data(), b.data(), sizeof(double) * 33) == 0);
  CHECK(std::memcmp(v2.data(), v.data(), sizeof(double) * 9) == 0);
  CHECK(reader.vector<float>("w") == w);
  CHECK(reader.matrix<float>("w").rows() == 1);  // rank 1 reads as one row
  // The data section starts 8-byte aligned and views point into the mapped file (zero copy).
  std::uint64_t header_length = 0;
  std::ifstream(file, std::ios::binary).read(reinterpret_cast<char*>(&header_length), 8);
  CHECK(header_length % 8 == 0);
  CHECK(reinterpret_cast<std::uintptr_t>(reader.tensor("b").bytes.data()) % 8 == 0);
}

TEST_CASE("releasing a copied tensor's pages keeps every view's values (they are read again from the file)") {
  const RowMatrix<float> big = random_matrix<float>(300, 257, 5);  // many pages, boundaries mid-page
  const RowMatrix<float> small = random_matrix<float>(3, 3, 6);
  SafetensorsWriter writer;
  writer.add("big", big);
  writer.add("small", small);
  const fs::path directory = scratch("release");
  fs::create_directories(directory);
  const fs::path file = directory / "model.safetensors";
  writer.write(file);

  const SafetensorsReader reader(file);
  CHECK(reader.matrix<float>("big") == big);
  reader.release("big");  // shares its last page with "small"
  CHECK(reader.matrix<float>("small") == small);
  CHECK(reader.matrix<float>("big") == big);
  reader.release("small");
  reader.release("small");
  CHECK(reader.matrix<float>("small") == small);
  CHECK(error_of([&] { reader.release("absent"); }).find("no tensor named 'absent'") != std::string::npos);

  const Checkpoint checkpoint(directory);
  checkpoint.release("big");
  CHECK(checkpoint.matrix<float>("big") == big);
}

TEST_CASE("16-bit dtypes convert with round-to-nearest-even") {
  RowMatrix<float> m(1, 6);
  m << 1.0f, -2.5f, 3.14159265f, 65504.0f, 1e-7f, 0.0f;
  SafetensorsWriter writer;
  writer.add_as("bf", DType::BF16, m);
  writer.add_as("half", DType::F16, m);
  const fs::path file = scratch("half.safetensors");
  writer.write(file);
  const SafetensorsReader reader(file);
  const RowMatrix<float> bf = reader.matrix<float>("bf");
  const RowMatrix<double> half = reader.matrix<double>("half");
  CHECK(bf(0, 0) == 1.0f);
  CHECK(bf(0, 1) == -2.5f);
  CHECK(bf(0, 2) == 3.140625f);  // 0x4049 after rounding 0x40490fdb
  CHECK(half(0, 2) == doctest::Approx(3.140625));
  CHECK(half(0, 3) == 65504.0);
  CHECK(half(0, 4) == doctest::Approx(1.1920929e-7).epsilon(1e-6));  // subnormal half 2 * 2^-24
  CHECK(float_to_bf16(std::bit_cast<float>(0x3f808000u)) == 0x3f80);  // tie to even stays
  CHECK(float_to_bf16(std::bit_cast<float>(0x3f818000u)) == 0x3f82);  // tie to even rounds up
  CHECK(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(std::isinf(f16_to_float(float_to_f16(70000.0f))));
  for (std::uint32_t bits = 0; bits < 0x10000u; bits += 7) {  // every finite half survives the round trip
    const auto h = static_cast<std::uint16_t>(bits);
    if ((h & 0x7c00u) == 0x7c00u) continue;
    CHECK_EQ(float_to_f16(f16_to_float(h)), h);
  }
}

TEST_CASE("a missing tensor names the file and the tensor") {
  SafetensorsWriter writer;
  writer.add("present", random_matrix<float>(2, 2, 5));
  const fs::path file = scratch("missing.safetensors");
  writer.write(file);
  const SafetensorsReader reader(file);
  CHECK_FALSE(reader.contains("absent"));
  const std::string message = error_of([&] { (void)reader.tensor("absent"); });
  CHECK(contains_all(message, {"missing.safetensors", "absent"}));
  CHECK(contains_all(error_of([&] { (void)reader.vector<float>("present"); }), {"present", "rank 2"}));
}

TEST_CASE("malformed files are rejected with the file and the fault named") {
  const std::string good = R"({"t":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
  SUBCASE("a valid hand-made file reads") {
    write_raw(scratch("ok.safetensors"), good, 16);
    CHECK(SafetensorsReader(scratch("ok.safetensors")).tensor("t").bytes.size() == 16);
  }
  SUBCASE("truncated file") {
    write_raw(scratch("truncated.safetensors"), good, 12);
    CHECK(contains_all(error_of([] { SafetensorsReader r(scratch("truncated.safetensors")); }),
                       {"truncated.safetensors", "'t'", "run past"}));
    write_file_atomically(scratch("tiny.safetensors"), "abc");
    CHECK(contains_all(error_of([] { SafetensorsReader r(scratch("tiny.safetensors")); }), {"tiny.safetensors", "8-byte"}));
  }
  SUBCASE("header length that lies") {
    write_raw(scratch("lying.safetensors"), good, 16, 1'000'000);
    CHECK(contains_all(error_of([] { SafetensorsReader r(scratch("lying.safetensors")); }),
                       {"lying.safetensors", "header length"}));
    write_raw(scratch("huge.safetensors"), good, 16, std::numeric_limits<std::uint64_t>::max() - 1);
    CHECK(contains_all(error_of([] { SafetensorsReader r(scratch("huge.safetensors")); }), {"huge.safetensors", "header length"}));
  }
  SUBCASE("bad JSON") {
    write_raw(scratch("json.safetensors"), R"({"t":{"dtype":"F32",)", 16);
    CHECK(contains_all(error_of([] { SafetensorsReader r(scratch("json.safetensors")); }), {"json.safetensors", "JSON"}));
  }
  SUBCASE("unknown dtype") {
    write_raw(scratch("dtype.safetensors"), R"({"t":{"dtype":"F8_E4M3","shape":[16],"data_offsets":[0,16]}})", 16);
    CHECK(contains_all(error_of([] { SafetensorsReader r(scratch("dtype.safetensors")); }),
                       {"dtype.safetensors", "'t'", "F8_E4M3"}));
  }
  SUBCASE("shape that disagrees with the byte range") {
    write_raw(scratch("shape.safetensors"), R"({"t":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}})", 16);
    CHECK(contains_all(error_of([] { SafetensorsReader r(scratch("shape.safetensors")); }),
                       {"shape.safetensors", "'t'", "24 bytes"}));
    write_raw(scratch("overflow.safetensors"),
              R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}})", 16);
    CHECK(contains_all(error_of([] { SafetensorsReader r(scratch("overflow.safetensors")); }), {"'t'", "overflows"}));
    write_raw(scratch("negative.safetensors"), R"({"t":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", 16);
    CHECK(contains_all(error_of([] { SafetensorsReader r(scratch("negative.safetensors")); }), {"'t'", "non-negative"}));
  }
  SUBCASE("overlapping ranges") {
    write_raw(scratch("overlap.safetensors"),
              R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
              16);
    CHECK(contains_all(error_of([] { SafetensorsReader r(scratch("overlap.safetensors")); }),
                       {"overlap.safetensors", "overlaps"}));
  }
  SUBCASE("holes and trailing bytes") {
    write_raw(scratch("hole.safetensors"), R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 16);
    CHECK(contains_all(error_of([] { SafetensorsReader r(scratch("hole.safetensors")); }), {"hole.safetensors", "no tensor"}));
    write_raw(scratch("trailing.safetensors"), good, 20);
    CHECK(contains_all(error_of([] { SafetensorsReader r(scratch("trailing.safetensors")); }), {"trailing.safetensors", "20 bytes"}));
  }
  SUBCASE("structurally wrong entries") {
    write_raw(scratch("array.safetensors"), "[1,2]", 0);
    CHECK_FALSE(error_of([] { SafetensorsReader r(scratch("array.safetensors")); }).empty());
    write_raw(scratch("extra.safetensors"), R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"x":1}})", 16);
    CHECK(contains_all(error_of([] { SafetensorsReader r(scratch("extra.safetensors")); }), {"'t'", "unexpected key"}));
    write_raw(scratch("meta.safetensors"), R"({"__metadata__":{"k":3}})", 0);
    CHECK(contains_all(error_of([] { SafetensorsReader r(scratch("meta.safetensors")); }), {"__metadata__", "'k'"}));
    write_raw(scratch("reversed.safetensors"), R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[16,0]}})", 16);
    CHECK(contains_all(error_of([] { SafetensorsReader r(scratch("reversed.safetensors")); }), {"'t'", "reversed"}));
  }
  SUBCASE("integer tensors are views but do not convert to floating matrices") {
    write_raw(scratch("int.safetensors"), R"({"ids":{"dtype":"I32","shape":[4],"data_offsets":[0,16]}})", 16);
    const SafetensorsReader reader(scratch("int.safetensors"));
    CHECK(reader.tensor("ids").dtype == DType::I32);
    CHECK(contains_all(error_of([&] { (void)reader.vector<float>("ids"); }), {"'ids'", "I32"}));
  }
  SUBCASE("a missing file") {
    CHECK(contains_all(error_of([] { SafetensorsReader r(scratch("nope.safetensors")); }), {"nope.safetensors", "cannot open"}));
  }
}

TEST_CASE("the writer refuses duplicate names and byte counts that disagree with the shape") {
  SafetensorsWriter writer;
  writer.add("x", random_matrix<float>(1, 1, 6));
  CHECK(contains_all(error_of([&] { writer.add("x", random_matrix<float>(1, 1, 6)); }), {"'x'", "twice"}));
  const std::vector<std::byte> bytes(6);
  CHECK(contains_all(error_of([&] { writer.add_raw("y", DType::F32, {2}, bytes); }), {"'y'", "6 bytes"}));
  writer.add_raw("z", DType::I16, {3}, bytes);
  const fs::path file = scratch("mixed.safetensors");
  writer.write(file);
  const SafetensorsReader reader(file);
  CHECK(reader.tensor("z").dtype == DType::I16);
  CHECK(reader.tensor("z").bytes.size() == 6);
}

TEST_CASE("a sharded checkpoint directory resolves tensors across files") {
  const fs::path dir = scratch("sharded");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const RowMatrix<float> a = random_matrix<float>(3, 4, 7), b = random_matrix<float>(2, 2, 8);
  SafetensorsWriter first, second;
  first.add("a", a);
  second.add("b", b);
  first.write(dir / "model-00001-of-00002.safetensors");
  second.write(dir / "model-00002-of-00002.safetensors");
  write_file_atomically(dir / "model.safetensors.index.json",
                        R"({"metadata":{"total_size":56},"weight_map":{"a":"model-00001-of-00002.safetensors",)"
                        R"("b":"model-00002-of-00002.safetensors"}})");
  const Checkpoint checkpoint(dir);
  CHECK(checkpoint.file_count() == 2);
  CHECK(checkpoint.names() == std::vector<std::string>{"a", "b"});
  CHECK(checkpoint.matrix<float>("a") == a);
  CHECK(checkpoint.matrix<float>("b") == b);
  CHECK(contains_all(error_of([&] { (void)checkpoint.tensor("c"); }), {"sharded", "'c'"}));

  write_file_atomically(dir / "model.safetensors.index.json",
                        R"({"weight_map":{"a":"model-00002-of-00002.safetensors"}})");
  CHECK(contains_all(error_of([&] { Checkpoint c(dir); }), {"model.safetensors.index.json", "'a'", "does not hold"}));
  write_file_atomically(dir / "model.safetensors.index.json", R"({"weight_map":{"a":"../escape.safetensors"}})");
  CHECK(contains_all(error_of([&] { Checkpoint c(dir); }), {"index.json", "invalid shard"}));
  write_file_atomically(dir / "model.safetensors.index.json", R"({"weight_map":)");
  CHECK(contains_all(error_of([&] { Checkpoint c(dir); }), {"index.json", "JSON"}));
  fs::remove(dir / "model.safetensors.index.json");
  CHECK(contains_all(error_of([&] { Checkpoint c(dir); }), {"sharded", "model.safetensors"}));
}

}  // namespace causalqwen_tests_io_safetensors
