// Head checkpoints: bit-exact round trips for every link and precision, metadata checks, and
// truncated / corrupt files.
#include "fixtures.hpp"

#include <causalqwen/head/checkpoint.hpp>
#include <causalqwen/io/safetensors.hpp>

#include "../support/errors.hpp"
#include "../support/scratch.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace causalqwen_tests_head_checkpoint {

using namespace causalqwen;
using namespace causalqwen::head;
using causalqwen::head::testing::random_head;
using causalqwen::head::testing::random_hidden;

namespace {

std::filesystem::path scratch(const std::string& name) {
  return causalqwen::testing::scratch_directory(__FILE__) / name;
}

std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

template <class T, class Link>
void round_trip() {
  std::mt19937_64 rng(21);
  auto head = random_head<T, Link, LearnedThresholds>(7, 5, 9, rng, {InferenceMode::standard, T(0.37)});
  const auto file = scratch(std::string("head_") + std::string(Link::name()) + (sizeof(T) == 4 ? "_f32" : "_f64") +
                            ".safetensors");
  save_head(head, file);
  const auto loaded = load_head<T, Link>(file, HeadShape{7, 5, 8});
  CHECK(loaded.noise_settings().temperature == T(0.37));
  CHECK(loaded.noise_settings().mode == InferenceMode::standard);
  CHECK(squared_norm(loaded.params() - head.params()) == T(0));
  const auto h = random_hidden<T>(6, 7, rng);
  const auto a = head.forward(h).action;
  const auto b = loaded.forward(h).action;
  CHECK(std::memcmp(a.class_loc.data(), b.class_loc.data(), sizeof(T) * std::size_t(a.class_loc.size())) == 0);
  CHECK(std::memcmp(a.class_scale.data(), b.class_scale.data(), sizeof(T) * std::size_t(a.class_scale.size())) == 0);
  CHECK(std::memcmp(a.value_loc.data(), b.value_loc.data(), sizeof(T) * std::size_t(a.value_loc.size())) == 0);
  CHECK(std::memcmp(a.value_scale.data(), b.value_scale.data(), sizeof(T) * std::size_t(a.value_scale.size())) == 0);
  const io::SafetensorsReader reader(file);
  CHECK(reader.metadata().at("scale_link") == Link::name());
  CHECK(reader.metadata().at("K") == "8");
  CHECK(reader.metadata().at("D") == "5");
  CHECK(reader.metadata().at("H") == "7");
  CHECK(reader.contains("action.class_weight"));
}

}  // namespace

TEST_CASE("round trip is bit-exact for every link, in float and double") {
  round_trip<float, ExpLink>();
  round_trip<double, ExpLink>();
  round_trip<double, SoftplusLink>();
  round_trip<float, IdentityLink>();
}

TEST_CASE("metadata is checked on load") {
  std::mt19937_64 rng(2);
  const auto head = random_head<double, ExpLink, LearnedThresholds>(4, 3, 5, rng);
  const auto file = scratch("meta.safetensors");
  save_head(head, file);
  CHECK_THROWS_WITH_AS((load_head<double, SoftplusLink>(file)), doctest::Contains("scale link 'exp'"), causalqwen::error);
  CHECK_THROWS_WITH_AS((load_head<double, ExpLink, ZeroThresholds>(file)), doctest::Contains("thresholds"),
                       causalqwen::error);
  CHECK_THROWS_WITH_AS(load_head<double>(file, HeadShape{4, 3, 6}), doctest::Contains("expected H = 4, D = 3, K = 6"),
                       causalqwen::error);

  // A file whose metadata disagrees with its tensors.
  io::SafetensorsWriter writer;
  writer.set_metadata("format", "causalqwen.head/1");
  writer.set_metadata("scale_link", "exp");
  writer.set_metadata("thresholds", "learned");
  writer.set_metadata("H", "4");
  writer.set_metadata("D", "2");
  writer.set_metadata("K", "4");
  writer.set_metadata("inference_mode", "standard");
  writer.set_metadata("temperature", "1");
  const auto params = head.params();
  for_each_block(params, [&](const std::string& name, const auto& block) { writer.add(name, block); });
  const auto lying = scratch("lying.safetensors");
  writer.write(lying);
  CHECK_THROWS_WITH_AS(load_head<double>(lying), doctest::Contains("abduction.loc_weight"), causalqwen::error);

  // Not a head checkpoint at all.
  io::SafetensorsWriter other;
  other.add("weight", RowMatrix<double>(RowMatrix<double>::Zero(2, 2)));
  const auto plain = scratch("plain.safetensors");
  other.write(plain);
  CHECK_THROWS_WITH_AS(load_head<double>(plain), doctest::Contains("not a causal head checkpoint"), causalqwen::error);
}

TEST_CASE("metadata sizes are checked against the tensors before anything is allocated") {
  // Sizes were allocated from the metadata first: H = 2^64-1 ended in a bare bad_alloc, K = 2^64-1
  // wrapped K + 1 to 0, and H = D = 2^31 asked for 2^62 elements.
  std::mt19937_64 rng(3);
  const auto params = random_head<double, ExpLink, LearnedThresholds>(4, 3, 5, rng).params();
  const std::string max = "18446744073709551615";
  for (const auto& sizes : {std::tuple<std::string, std::string, std::string>{max, "3", "4"},
                            {"4", "3", max},
                            {"2147483648", "2147483648", "4"}}) {
    const std::string& h = std::get<0>(sizes);
    const std::string& d = std::get<1>(sizes);
    const std::string& k = std::get<2>(sizes);
    INFO("H = ", h, ", D = ", d, ", K = ", k);
    io::SafetensorsWriter writer;
    writer.set_metadata("format", "causalqwen.head/1");
    writer.set_metadata("scale_link", "exp");
    writer.set_metadata("thresholds", "learned");
    writer.set_metadata("H", h);
    writer.set_metadata("D", d);
    writer.set_metadata("K", k);
    writer.set_metadata("inference_mode", "standard");
    writer.set_metadata("temperature", "1");
    for_each_block(params, [&](const std::string& name, const auto& block) { writer.add(name, block); });
    const auto file = scratch("huge_meta.safetensors");
    writer.write(file);
    const std::string message = causalqwen::testing::error_of([&] { (void)load_head<double>(file); });
    CHECK(message.find("huge_meta.safetensors: ") != std::string::npos);
    CHECK((message.find("tensor 'abduction.loc_weight'") != std::string::npos ||
           message.find("K = " + max + " is too large") != std::string::npos));
  }
}

TEST_CASE("truncated and corrupt files give clear errors") {
  std::mt19937_64 rng(3);
  const auto head = random_head<float, ExpLink, LearnedThresholds>(4, 3, 5, rng);
  const auto file = scratch("good.safetensors");
  save_head(head, file);
  const std::string bytes = read_bytes(file);

  const auto truncated = scratch("truncated.safetensors");
  write_bytes(truncated, bytes.substr(0, bytes.size() - 10));
  CHECK_THROWS_WITH_AS(load_head<float>(truncated), doctest::Contains("truncated.safetensors"), causalqwen::error);
  write_bytes(truncated, bytes.substr(0, 5));
  CHECK_THROWS_AS(load_head<float>(truncated), causalqwen::error);

  const auto corrupt = scratch("corrupt.safetensors");
  std::string broken = bytes;
  broken[9] = '#';  // inside the JSON header
  write_bytes(corrupt, broken);
  CHECK_THROWS_WITH_AS(load_head<float>(corrupt), doctest::Contains("corrupt.safetensors"), causalqwen::error);

  // A NaN in the data section: found by the layer checks, reported with the file name.
  std::string poisoned = bytes;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(poisoned.data() + poisoned.size() - sizeof(float), &nan, sizeof(float));
  const auto poisoned_file = scratch("poisoned.safetensors");
  write_bytes(poisoned_file, poisoned);
  CHECK_THROWS_WITH_AS(load_head<float>(poisoned_file), doctest::Contains("poisoned.safetensors"), causalqwen::error);

  CHECK_THROWS_AS(load_head<float>(scratch("missing.safetensors")), causalqwen::error);
}

}  // namespace causalqwen_tests_head_checkpoint
