// config.json validation and checkpoint loading failures: every one is a causalqwen::error that
// names the file and the field or tensor at fault.
#include "../support/errors.hpp"
#include "../support/scratch.hpp"
#include "tiny_qwen2.hpp"

#include <causalqwen/backbone/qwen2.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace causalqwen_tests_backbone_qwen2_loading {

namespace fs = std::filesystem;
using causalqwen::testing::error_of;
using namespace causalqwen;
using nlohmann::json;

namespace {

fs::path scratch(const std::string& name) { return causalqwen::testing::scratch_directory(__FILE__) / name; }

json golden_config() {
  std::ifstream in(fs::path(CAUSALQWEN_TEST_DATA_DIR) / "qwen2" / "config.json");
  return json::parse(in);
}

std::string config_error(const json& config) {
  try {
    parse_qwen2_config(config, "dir/config.json");
  } catch (const causalqwen::error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("the golden config.json parses with every field") {
  const Qwen2Config c = parse_qwen2_config(golden_config(), "config.json");
  CHECK(c.vocab_size == 256);
  CHECK(c.hidden_size == 64);
  CHECK(c.intermediate_size == 176);
  CHECK(c.num_hidden_layers == 2);
  CHECK(c.num_attention_heads == 4);
  CHECK(c.num_key_value_heads == 2);
  CHECK(c.head_dim == 16);
  CHECK(c.rope_theta == 10000.0);
  CHECK(c.rms_norm_eps == 1e-6);
  CHECK(c.tie_word_embeddings);
  CHECK(c.attention_bias);
  CHECK(c.max_position_embeddings == 512);
  // The config the library writes reads back the same.
  const Qwen2Config again = parse_qwen2_config(json::parse(qwen2_config_json(c)), "written");
  CHECK(again.head_dim == c.head_dim);
  CHECK(again.rope_theta == c.rope_theta);
  CHECK(again.tie_word_embeddings == c.tie_word_embeddings);
}

TEST_CASE("defaults follow the Hugging Face Qwen2 config") {
  json config = golden_config();
  config.erase("head_dim");
  config.erase("num_key_value_heads");
  config.erase("tie_word_embeddings");
  const Qwen2Config c = parse_qwen2_config(config, "config.json");
  CHECK(c.head_dim == 16);  // hidden_size / num_attention_heads, as in real Qwen2.5 configs
  CHECK(c.num_key_value_heads == 4);
  CHECK_FALSE(c.tie_word_embeddings);
}

TEST_CASE("config errors name config.json and the field") {
  const auto with = [](const char* field, json value) {
    json config = golden_config();
    if (value.is_discarded()) config.erase(field);
    else config[field] = std::move(value);
    return config_error(config);
  };
  const json missing = json(json::value_t::discarded);
  for (const char* field : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                            "rms_norm_eps", "rope_theta", "max_position_embeddings", "model_type"}) {
    CAPTURE(field);
    const std::string message = with(field, missing);
    CHECK(message.find("dir/config.json") != std::string::npos);
    CHECK(message.find(field) != std::string::npos);
    CHECK(message.find("missing") != std::string::npos);
  }
  CHECK(with("model_type", "llama").find("'model_type'") != std::string::npos);
  CHECK(with("architectures", json::array({"LlamaForCausalLM"})).find("'architectures'") != std::string::npos);
  CHECK(with("hidden_size", -64).find("'hidden_size'") != std::string::npos);
  CHECK(with("hidden_size", "64").find("positive integer") != std::string::npos);
  CHECK(with("rms_norm_eps", 0).find("'rms_norm_eps'") != std::string::npos);
  CHECK(with("num_key_value_heads", 3).find("'num_key_value_heads'") != std::string::npos);
  CHECK(with("head_dim", 15).find("'head_dim'") != std::string::npos);
  CHECK(with("tie_word_embeddings", "yes").find("'tie_word_embeddings'") != std::string::npos);
  CHECK(with("hidden_act", "gelu").find("'hidden_act'") != std::string::npos);
  CHECK(with("rope_scaling", json{{"type", "yarn"}, {"factor", 4}}).find("'rope_scaling'") != std::string::npos);
  CHECK(with("use_sliding_window", true).find("'use_sliding_window'") != std::string::npos);
  CHECK(config_error(json::array()).find("not a JSON object") != std::string::npos);

  json no_head_dim = golden_config();
  no_head_dim.erase("head_dim");
  no_head_dim["num_attention_heads"] = 6;
  no_head_dim["num_key_value_heads"] = 2;
  CHECK(config_error(no_head_dim).find("does not divide hidden_size") != std::string::npos);

  const fs::path dir = scratch("bad_json");
  fs::create_directories(dir);
  write_file_atomically(dir / "config.json", "{\"model_type\": ");
  const std::string message = error_of([&] { (void)load_qwen2_config(dir / "config.json"); });
  CHECK(message.find("config.json") != std::string::npos);
  CHECK(message.find("JSON") != std::string::npos);
  CHECK(error_of([&] { (void)load_qwen2_config(dir / "absent.json"); }).find("absent.json") != std::string::npos);
}

TEST_CASE("config sizes are bounded: heads x head_dim cannot overflow") {
  // heads x head_dim was multiplied unchecked (signed overflow) and the message showed a wrapped size.
  json config = golden_config();
  config["num_attention_heads"] = std::int64_t{1} << 40;
  config["num_key_value_heads"] = std::int64_t{1} << 40;
  config["head_dim"] = std::int64_t{1} << 40;
  CHECK(config_error(config).find("dir/config.json: field 'num_attention_heads'") != std::string::npos);
  json wide = golden_config();
  wide["num_attention_heads"] = 4096;
  wide["num_key_value_heads"] = 4096;
  wide["head_dim"] = 4096;
  CHECK(config_error(wide).find("x head_dim (4096) exceeds") != std::string::npos);
  json huge_vocab = golden_config();
  huge_vocab["vocab_size"] = std::uint64_t{1} << 63;
  CHECK(config_error(huge_vocab).find("'vocab_size'") != std::string::npos);
}

TEST_CASE("a directory given as config.json or as the checkpoint index is reported as a directory") {
  const fs::path dir = scratch("directory_inputs");
  fs::create_directories(dir / "config.json");
  CHECK(error_of([&] { (void)load_qwen2_config(dir / "config.json"); })
            .find((dir / "config.json").string() + ": is a directory") != std::string::npos);
  fs::create_directories(dir / "model.safetensors.index.json");
  CHECK(error_of([&] { causalqwen::io::Checkpoint checkpoint(dir); })
            .find((dir / "model.safetensors.index.json").string() + ": is a directory") != std::string::npos);
}

TEST_CASE("checkpoint errors name the checkpoint and the tensor") {
  const Qwen2Config c = tiny::config(4, 2, false);
  SUBCASE("missing tensor") {
    io::TensorStore store;
    for (const auto& [name, m] : tiny::weights(c, 1))
      if (name != "model.layers.1.mlp.up_proj.weight") tiny::put(store, name, m);
    const std::string message = error_of([&] { Qwen2<> model(c, store, CpuBackend<float>(1), WeightFormat::as_stored, "ckpt"); });
    CHECK(message.find("ckpt") != std::string::npos);
    CHECK(message.find("model.layers.1.mlp.up_proj.weight") != std::string::npos);
  }
  SUBCASE("untied model without lm_head") {
    io::TensorStore store = tiny::store(tiny::config(4, 2, true), 1);
    CHECK(error_of([&] { Qwen2<> model(c, store, CpuBackend<float>(1), WeightFormat::as_stored, "ckpt"); }).find("lm_head.weight") !=
          std::string::npos);
  }
  SUBCASE("wrong shape") {
    Qwen2Config wider = c;
    wider.intermediate_size = 50;
    const io::TensorStore store = tiny::store(c, 1);
    const std::string message = error_of([&] { Qwen2<> model(wider, store, CpuBackend<float>(1), WeightFormat::as_stored, "ckpt"); });
    CHECK(message.find("model.layers.0.mlp.gate_proj.weight") != std::string::npos);
    CHECK(message.find("[48, 32]") != std::string::npos);
    CHECK(message.find("[50, 32]") != std::string::npos);
  }
  SUBCASE("wrong dtype") {
    io::TensorStore store;
    for (const auto& [name, m] : tiny::weights(c, 1)) {
      if (name == "model.norm.weight") {
        const std::vector<std::byte> bytes(32 * 4);
        store.add_raw(name, io::DType::I32, {32}, bytes);
      } else {
        tiny::put(store, name, m);
      }
    }
    const std::string message = error_of([&] { Qwen2<> model(c, store, CpuBackend<float>(1), WeightFormat::as_stored, "ckpt"); });
    CHECK(message.find("model.norm.weight") != std::string::npos);
    CHECK(message.find("I32") != std::string::npos);
  }
  SUBCASE("directory problems") {
    const fs::path dir = tiny::write(scratch("broken"), c, 1);
    fs::remove(dir / "config.json");
    CHECK(error_of([&] { Qwen2<> model(dir); }).find("config.json") != std::string::npos);
    write_file_atomically(dir / "config.json", qwen2_config_json(c));
    // Cut the weights file short: the safetensors header no longer fits the file.
    const auto size = fs::file_size(dir / "model.safetensors");
    fs::resize_file(dir / "model.safetensors", size - 100);
    const std::string message = error_of([&] { Qwen2<> model(dir); });
    CHECK(message.find("model.safetensors") != std::string::npos);
    fs::remove(dir / "model.safetensors");
    CHECK(error_of([&] { Qwen2<> model(dir); }).find("model.safetensors") != std::string::npos);
    CHECK(error_of([&] { Qwen2<> model(scratch("nowhere")); }).find("nowhere") != std::string::npos);
  }
}

}  // namespace causalqwen_tests_backbone_qwen2_loading
