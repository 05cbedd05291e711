// The non-finite weight policy: every Qwen2 loading path (checkpoint directory, shards, GGUF,
// the training parameters) refuses a NaN or Inf weight with an error naming the file, the tensor
// and the first bad element, in every stored dtype; extreme finite values still load.
#include "../support/errors.hpp"
#include "../support/scratch.hpp"
#include "golden.hpp"
#include "tiny_qwen2.hpp"

#include <causalqwen/backbone/qwen2.hpp>
#include <causalqwen/backbone/qwen2_gguf.hpp>
#include <causalqwen/backbone/qwen2_parameters.hpp>
#include <causalqwen/io/checkpoint.hpp>
#include <causalqwen/io/tensor.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

namespace causalqwen_tests_backbone_nonfinite_weights {

namespace fs = std::filesystem;
using namespace causalqwen;
using causalqwen::testing::error_of;

namespace {

const fs::path scratch = causalqwen::testing::scratch_directory(__FILE__);
const Qwen2Config config = tiny::config(4, 2, false);
constexpr float not_a_number = std::numeric_limits<float>::quiet_NaN();
constexpr float infinity = std::numeric_limits<float>::infinity();

/// A tiny checkpoint whose tensor `bad` holds `value` at element `index`, stored as `dtype`, in
/// `shards` files.
fs::path write_with(const std::string& dir_name, const std::string& bad, Eigen::Index index, float value, io::DType dtype,
                    int shards = 1) {
  const fs::path dir = scratch / dir_name;
  tiny::write(dir, config, 1, shards, dtype);
  auto all = tiny::weights(config, 1);
  // Rewrite the file that holds `bad` with the one value replaced.
  const io::Checkpoint checkpoint(dir);
  const fs::path file = checkpoint.file_of(bad).path();
  io::SafetensorsWriter writer;
  for (auto& [name, m] : all) {
    if (checkpoint.file_of(name).path() != file) continue;
    if (name == bad) m.data()[index] = value;
    tiny::put(writer, name, m, dtype);
  }
  writer.write(file);
  return dir;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("first_non_finite finds the first NaN or Inf on the raw bits of every floating dtype") {
  const auto find = [](io::DType dtype, const std::vector<float>& values) {
    io::TensorStore store;
    store.add_as("t", dtype, Vector<float>(Eigen::Map<const Vector<float>>(values.data(), Eigen::Index(values.size()))));
    const io::TensorView& view = store.tensor("t");
    return io::first_non_finite(view.dtype, view.bytes.data(), values.size());
  };
  for (io::DType dtype : {io::DType::F64, io::DType::F32, io::DType::F16, io::DType::BF16}) {
    INFO(io::dtype_name(dtype));
    std::vector<float> values(37, 0.25f);
    values[3] = -0.0f;
    // The largest finite value of each dtype (a larger float would round to Inf when stored).
    values[4] = dtype == io::DType::F16 ? 65504.0f : dtype == io::DType::BF16 ? 3.3895313892515355e38f : std::numeric_limits<float>::max();
    values[5] = std::numeric_limits<float>::denorm_min();
    CHECK(find(dtype, values) == values.size());
    values[30] = -not_a_number;
    CHECK(find(dtype, values) == 30);
    values[17] = -infinity;
    CHECK(find(dtype, values) == 17);
    values[0] = infinity;
    CHECK(find(dtype, values) == 0);
  }
}

TEST_CASE("a checkpoint directory with a non-finite weight is refused naming file, tensor and element") {
  SUBCASE("f32 NaN") {
    const fs::path dir = write_with("nan_f32", "model.layers.1.mlp.down_proj.weight", 5, not_a_number, io::DType::F32);
    const std::string message = error_of([&] { Qwen2<> model(dir); });
    CHECK(contains(message, (dir / "model.safetensors").string()));
    CHECK(contains(message, "'model.layers.1.mlp.down_proj.weight' has a non-finite value (NaN or Inf) at element 5"));
  }
  SUBCASE("bf16 Inf in a norm weight, checked on the raw bits") {
    const fs::path dir = write_with("inf_bf16", "model.norm.weight", 7, infinity, io::DType::BF16);
    const std::string message = error_of([&] { Qwen2<> model(dir); });
    CHECK(contains(message, "'model.norm.weight' has a non-finite value (NaN or Inf) at element 7"));
  }
  SUBCASE("f16 NaN in a bias") {
    REQUIRE(config.attention_bias);
    const fs::path dir = write_with("nan_f16", "model.layers.0.self_attn.k_proj.bias", 0, -not_a_number, io::DType::F16);
    CHECK(contains(error_of([&] { Qwen2<> model(dir); }), "'model.layers.0.self_attn.k_proj.bias' has a non-finite"));
  }
  SUBCASE("a shard names itself") {
    const fs::path dir = write_with("nan_shard", "lm_head.weight", 100, not_a_number, io::DType::F32, 3);
    const std::string message = error_of([&] { Qwen2<> model(dir); });
    CHECK(contains(message, "model-00003-of-00003.safetensors"));
    CHECK(contains(message, "'lm_head.weight' has a non-finite value (NaN or Inf) at element 100"));
  }
  SUBCASE("the training parameters follow the same policy") {
    const fs::path dir = write_with("nan_params", "model.embed_tokens.weight", 12, not_a_number, io::DType::F32);
    const std::string message =
        error_of([&] { load_qwen2_parameters<double>(config, io::Checkpoint(dir), dir.string()); });
    CHECK(contains(message, (dir / "model.safetensors").string()));
    CHECK(contains(message, "'model.embed_tokens.weight' has a non-finite value (NaN or Inf) at element 12"));
  }
  SUBCASE("extreme finite values load") {
    const fs::path dir = write_with("huge_f32", "model.norm.weight", 2, std::numeric_limits<float>::max(), io::DType::F32);
    CHECK(error_of([&] { Qwen2<> model(dir); }).empty());
    CHECK(error_of([&] { load_qwen2_parameters<float>(config, io::Checkpoint(dir), dir.string()); }).empty());
  }
}

TEST_CASE("a GGUF file with a non-finite weight is refused naming the file") {
  const fs::path good = golden::dir / "gguf" / "model-f32.gguf";
  std::ifstream in(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() > 4096);
  // The file ends with the last tensor's data and less than one alignment (32 bytes) of padding.
  for (std::size_t at = bytes.size() - 64; at < bytes.size(); at += 4) std::memcpy(bytes.data() + at, &not_a_number, 4);
  const fs::path file = scratch / "not_a_number.gguf";
  std::ofstream(file, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  const std::string message = error_of([&] { load_qwen2<>(file); });
  CHECK(contains(message, file.string()));
  CHECK(contains(message, "has a non-finite value (NaN or Inf) at element"));
}

}  // namespace causalqwen_tests_backbone_nonfinite_weights
