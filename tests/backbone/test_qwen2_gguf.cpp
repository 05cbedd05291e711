// Qwen2 from GGUF files llama.cpp's writer made (tests/data/qwen2/gguf): the golden logits of
// each file, the same hidden states as the safetensors checkpoint of the same weights, and the
// library's error for metadata or tensors that do not make a qwen2 model.
#include "../support/errors.hpp"
#include "../support/gguf_bytes.hpp"
#include "../support/scratch.hpp"
#include "golden.hpp"

#include <causalqwen/backbone/qwen2.hpp>
#include <causalqwen/backbone/qwen2_gguf.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace causalqwen_tests_backbone_qwen2_gguf {

namespace fs = std::filesystem;
using namespace causalqwen;
using causalqwen::testing::error_of;
using causalqwen::testing::GgufBytes;

namespace {

const fs::path gguf_dir = golden::dir / "gguf";
const fs::path scratch = causalqwen::testing::scratch_directory(__FILE__);

/// The error of loading `bytes` as a model; checks that it names the file.
std::string load_error(const GgufBytes& bytes) {
  const fs::path file = bytes.write(scratch / "broken.gguf");
  const std::string message = error_of([&] { load_qwen2<>(file); });
  CHECK_MESSAGE(message.find(file.string()) != std::string::npos, "error does not name the file: ", message);
  return message;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("the config comes from the qwen2.* metadata") {
  const io::GgufReader file(gguf_dir / "model-q8_0.gguf");
  const Qwen2Config gguf = qwen2_config_from_gguf(file);
  const Qwen2Config hf = load_qwen2_config(golden::dir / "config.json");
  CHECK(gguf.vocab_size == hf.vocab_size);
  CHECK(gguf.hidden_size == hf.hidden_size);
  CHECK(gguf.intermediate_size == hf.intermediate_size);
  CHECK(gguf.num_hidden_layers == hf.num_hidden_layers);
  CHECK(gguf.num_attention_heads == hf.num_attention_heads);
  CHECK(gguf.num_key_value_heads == hf.num_key_value_heads);
  CHECK(gguf.head_dim == hf.head_dim);
  CHECK(gguf.max_position_embeddings == hf.max_position_embeddings);
  CHECK(gguf.rope_theta == hf.rope_theta);
  CHECK(static_cast<float>(gguf.rms_norm_eps) == static_cast<float>(hf.rms_norm_eps));  // stored as f32
  CHECK(gguf.tie_word_embeddings);
  CHECK(gguf.attention_bias);
}

TEST_CASE("each GGUF file matches its golden logits on every position") {
  for (const std::string kind : {"f32", "q8_0"}) {
    const fs::path file = gguf_dir / ("model-" + kind + ".gguf");
    for (WeightFormat format : {WeightFormat::as_stored, WeightFormat::dense}) {
      const Qwen2<> model = load_qwen2(file, CpuBackend<float>(2), format);
      const double error = golden::max_error(model, gguf_dir / ("golden_logits-" + kind + ".txt"));
      MESSAGE(kind, ": max |logit - golden| = ", error);
      CHECK(error <= 1e-4);
    }
  }
  // The q8_0 golden logits are far enough from the f32 ones that misread blocks would show.
  const Qwen2<> q8 = load_qwen2(gguf_dir / "model-q8_0.gguf", CpuBackend<float>(1));
  CHECK(golden::max_error(q8, gguf_dir / "golden_logits-f32.txt") > 1e-2);
  const Qwen2<CpuBackend<double>> reference = load_qwen2(gguf_dir / "model-f32.gguf", CpuBackend<double>{});
  CHECK(golden::max_error(reference, gguf_dir / "golden_logits-f32.txt") <= 1e-5);
}

TEST_CASE("the f32 GGUF file gives the hidden states of the safetensors checkpoint") {
  const Qwen2<> from_gguf = load_qwen2(gguf_dir / "model-f32.gguf", CpuBackend<float>(2));
  const Qwen2<> from_directory = load_qwen2(golden::dir, CpuBackend<float>(2));
  const std::vector<TokenId> tokens = golden::tokens();
  const RowMatrix<float> gguf = from_gguf.hidden_states(std::span<const TokenId>(tokens));
  const RowMatrix<float> hf = from_directory.hidden_states(std::span<const TokenId>(tokens));
  REQUIRE(gguf.rows() == hf.rows());
  CHECK((gguf - hf).cwiseAbs().maxCoeff() == 0.0f);
  // Rounding to bfloat16 at load time goes through the same path for both sources.
  const Qwen2<> gguf_bf16 = load_qwen2(gguf_dir / "model-f32.gguf", CpuBackend<float>(1), WeightFormat::bf16);
  const Qwen2<> hf_bf16 = load_qwen2(golden::dir, CpuBackend<float>(1), WeightFormat::bf16);
  CHECK((gguf_bf16.hidden_states(std::span<const TokenId>(tokens)) - hf_bf16.hidden_states(std::span<const TokenId>(tokens)))
            .cwiseAbs()
            .maxCoeff() == 0.0f);
}

TEST_CASE("metadata that is not a supported qwen2 model is rejected naming the key") {
  const GgufBytes good(gguf_dir / "model-q8_0.gguf");
  CHECK(contains(load_error(GgufBytes(good).replace("qwen2", "llama")), "'general.architecture' is 'llama'"));
  // u32 -> f32 keeps the size: the value is now a float.
  CHECK(contains(load_error(GgufBytes(good).put(good.after("qwen2.block_count"), std::uint32_t{6})),
                 "'qwen2.block_count' is f32, expected an integer"));
  CHECK(contains(load_error(GgufBytes(good).replace("qwen2.context_length", "qwen2.context_lengtX")),
                 "'qwen2.context_length' is missing"));
  CHECK(contains(load_error(GgufBytes(good).put(good.after("qwen2.attention.head_count_kv") + 4, std::uint32_t{3})),
                 "num_key_value_heads"));
  CHECK(contains(load_error(GgufBytes(good).put(good.after("qwen2.embedding_length") + 4, std::uint32_t{0})),
                 "hidden_size"));
  // A third layer the file has no tensors for; a tensor of no qwen2 model.
  CHECK(contains(load_error(GgufBytes(good).put(good.after("qwen2.block_count") + 4, std::uint32_t{3})),
                 "missing tensor 'blk.2.attn_norm.weight'"));
  CHECK(contains(load_error(GgufBytes(good).put(good.after("qwen2.block_count") + 4, std::uint32_t{1})),
                 "tensor 'blk.1.attn_norm.weight' is not part of a 1-layer qwen2 model"));
  CHECK(contains(load_error(GgufBytes(good).replace("blk.1.ffn_up.weight", "blk.01.ffn_up.weigh")), "'blk.01.ffn_up.weigh'"));
  CHECK(contains(load_error(GgufBytes(good).replace("output_norm.weight", "output_norm.weighX")),
                 "tensor 'output_norm.weighX' is not part of"));
  // Shapes are checked against the config like those of a checkpoint directory (the message
  // names the tensor as the Qwen2 loader asks for it).
  const std::string k = "blk.0.attn_k.weight";  // ne {64, 32} -> {32, 64}: same bytes, transposed shape
  CHECK(contains(load_error(GgufBytes(good).put(good.extent_at(k, 0), std::uint64_t{32}).put(good.extent_at(k, 1), std::uint64_t{64})),
                 "'model.layers.0.self_attn.k_proj.weight' has shape [64, 32], the config requires [32, 64]"));
  // A directory is not read as GGUF, nor a GGUF file as a directory.
  CHECK(contains(error_of([] { load_qwen2<>(golden::dir / "config.json"); }), "invalid GGUF file"));
  CHECK(contains(error_of([] { load_qwen2<>(golden::dir / "missing.gguf"); }), "cannot open"));
}

}  // namespace causalqwen_tests_backbone_qwen2_gguf
