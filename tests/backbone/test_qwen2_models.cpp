// Tiny random Qwen2 models of shapes the golden model does not cover: GQA groups of 1 and 4,
// untied lm_head, sharded and bfloat16 files, the KV cache, the embedding hook, added tokens.
#include "tiny_qwen2.hpp"
#include "../support/scratch.hpp"

#include <causalqwen/backbone/qwen2.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <vector>

namespace causalqwen_tests_backbone_qwen2_models {

namespace fs = std::filesystem;
using namespace causalqwen;

namespace {

fs::path scratch(const std::string& name) { return causalqwen::testing::scratch_directory(__FILE__) / name; }

/// A plain transcription of the Hugging Face Qwen2 forward pass in double (repeat_kv, full
/// causal mask), independent of the kernels, to check shapes the golden data does not cover.
RowMatrix<double> reference_hidden(const Qwen2Config& c, const std::map<std::string, RowMatrix<double>>& w,
                                   const std::vector<TokenId>& tokens) {
  const auto T = static_cast<Eigen::Index>(tokens.size());
  const Eigen::Index d = c.head_dim, half = d / 2;
  const auto norm = [&](const RowMatrix<double>& x, const RowMatrix<double>& g) {
    RowMatrix<double> y = x;
    for (Eigen::Index t = 0; t < T; ++t)
      y.row(t) = x.row(t).array() / std::sqrt(x.row(t).squaredNorm() / double(x.cols()) + c.rms_norm_eps) * g.row(0).array();
    return y;
  };
  const auto rope = [&](RowMatrix<double>& x, Eigen::Index heads) {
    for (Eigen::Index t = 0; t < T; ++t)
      for (Eigen::Index h = 0; h < heads; ++h)
        for (Eigen::Index i = 0; i < half; ++i) {
          const double angle = double(t) * std::pow(c.rope_theta, -2.0 * double(i) / double(d));
          const double a = x(t, h * d + i), b = x(t, h * d + i + half);
          x(t, h * d + i) = a * std::cos(angle) - b * std::sin(angle);
          x(t, h * d + i + half) = b * std::cos(angle) + a * std::sin(angle);
        }
  };
  RowMatrix<double> x(T, c.hidden_size);
  for (Eigen::Index t = 0; t < T; ++t) x.row(t) = w.at("model.embed_tokens.weight").row(tokens[static_cast<std::size_t>(t)]);
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const auto linear = [&](const RowMatrix<double>& in, const std::string& name, bool bias) {
      RowMatrix<double> out = in * w.at(p + name + ".weight").transpose();
      if (bias) out.rowwise() += w.at(p + name + ".bias").row(0);
      return out;
    };
    RowMatrix<double> n = norm(x, w.at(p + "input_layernorm.weight"));
    RowMatrix<double> q = linear(n, "self_attn.q_proj", true), k = linear(n, "self_attn.k_proj", true),
                      v = linear(n, "self_attn.v_proj", true);
    rope(q, c.num_attention_heads);
    rope(k, c.num_key_value_heads);
    RowMatrix<double> attended(T, c.q_size());
    for (Eigen::Index h = 0; h < c.num_attention_heads; ++h) {
      const Eigen::Index kv = h / (c.num_attention_heads / c.num_key_value_heads);
      for (Eigen::Index i = 0; i < T; ++i) {
        Eigen::VectorXd s(i + 1);
        for (Eigen::Index j = 0; j <= i; ++j) s[j] = q.row(i).segment(h * d, d).dot(k.row(j).segment(kv * d, d)) / std::sqrt(double(d));
        s = (s.array() - s.maxCoeff()).exp();
        s /= s.sum();
        attended.row(i).segment(h * d, d).setZero();
        for (Eigen::Index j = 0; j <= i; ++j) attended.row(i).segment(h * d, d) += s[j] * v.row(j).segment(kv * d, d);
      }
    }
    x += linear(attended, "self_attn.o_proj", false);
    n = norm(x, w.at(p + "post_attention_layernorm.weight"));
    RowMatrix<double> g = linear(n, "mlp.gate_proj", false), u = linear(n, "mlp.up_proj", false);
    g = (g.array() / (1.0 + (-g.array()).exp()) * u.array()).matrix();
    x += linear(g, "mlp.down_proj", false);
  }
  return norm(x, w.at("model.norm.weight"));
}

std::map<std::string, RowMatrix<double>> as_double(const Qwen2Config& c, unsigned seed) {
  std::map<std::string, RowMatrix<double>> out;
  for (const auto& [name, m] : tiny::weights(c, seed)) out.emplace(name, m.cast<double>());
  return out;
}

const std::vector<TokenId> prompt = {3, 17, 0, 39, 8, 8, 21, 5, 30, 12, 1, 2, 33};

double max_abs(const RowMatrix<float>& a, const RowMatrix<double>& b) { return (a.cast<double>() - b).cwiseAbs().maxCoeff(); }

}  // namespace

TEST_CASE("grouped-query attention with groups of 1, 2 and 4 matches the plain reference") {
  for (const auto& shape : {std::pair{4, 4}, std::pair{4, 2}, std::pair{8, 2}, std::pair{4, 1}}) {
    const int heads = shape.first, kv_heads = shape.second;
    CAPTURE(heads);
    CAPTURE(kv_heads);
    const Qwen2Config c = tiny::config(heads, kv_heads, true);
    const io::TensorStore tensors = tiny::store(c, 11);
    const Qwen2<> model(c, tensors, CpuBackend<float>(2), WeightFormat::as_stored, "tiny");
    const RowMatrix<double> expected = reference_hidden(c, as_double(c, 11), prompt);
    CHECK(max_abs(model.hidden_states(std::span<const TokenId>(prompt)), expected) < 2e-5);
    const Qwen2<CpuBackend<double>> exact(c, tensors, CpuBackend<double>(1), WeightFormat::as_stored, "tiny");
    CHECK((exact.hidden_states(std::span<const TokenId>(prompt)) - expected).cwiseAbs().maxCoeff() < 1e-12);
  }
}

TEST_CASE("the KV cache: a prompt then tokens one by one or in chunks equals one full pass") {
  for (auto [heads, kv_heads] : {std::pair{4, 1}, std::pair{4, 4}}) {
    const Qwen2Config c = tiny::config(heads, kv_heads, false);
    const io::TensorStore tensors = tiny::store(c, 12);
    for (WeightFormat format : {WeightFormat::dense, WeightFormat::bf16}) {
      // Exact precision: with bfloat16 activations (the default) prompt chunks and single tokens
      // round differently (tests/backbone/test_qwen2_golden.cpp bounds that).
      const Qwen2<> model(c, tensors, CpuBackend<float>(2, kernels::MatmulPrecision::exact), format, "tiny");
      const std::span<const TokenId> all(prompt);
      const RowMatrix<float> full = model.hidden_states(all);
      // 1 + 1 + ... decodes through the GEMV path, chunks of 5 through the GEMM path with a past.
      for (std::size_t chunk : {std::size_t{1}, std::size_t{5}}) {
        auto cache = model.make_cache();
        RowMatrix<float> pieces(full.rows(), full.cols());
        std::size_t at = model.hidden_states(all.first(4), cache).rows();
        pieces.topRows(4) = full.topRows(4);
        while (at < all.size()) {
          const std::size_t n = std::min(chunk, all.size() - at);
          pieces.middleRows(static_cast<Eigen::Index>(at), static_cast<Eigen::Index>(n)) = model.hidden_states(all.subspan(at, n), cache);
          at += n;
        }
        CHECK(cache.length() == static_cast<std::int64_t>(all.size()));
        CHECK((pieces - full).cwiseAbs().maxCoeff() < 1e-5f);
      }
      // Truncating the cache re-decodes from an earlier point.
      auto cache = model.make_cache();
      model.hidden_states(all, cache);
      cache.truncate(6);
      const RowMatrix<float> again = model.hidden_states(all.subspan(6, 1), cache);
      CHECK((again.row(0) - full.row(6)).cwiseAbs().maxCoeff() < 1e-5f);
    }
  }
}

TEST_CASE("an untied lm_head is used for the logits, a tied one is the embedding") {
  const Qwen2Config untied = tiny::config(4, 2, false), tied = tiny::config(4, 2, true);
  const io::TensorStore tensors = tiny::store(untied, 13);
  const Qwen2<> a(untied, tensors, CpuBackend<float>(1), WeightFormat::as_stored, "tiny");
  const Qwen2<> b(tied, tensors, CpuBackend<float>(1), WeightFormat::as_stored, "tiny");
  const std::span<const TokenId> tokens(prompt);
  const RowMatrix<float> h = a.hidden_states(tokens);
  CHECK(h == b.hidden_states(tokens));
  const RowMatrix<float> head = tensors.tensor("lm_head.weight").shape[0] == 40 ? tiny::weights(untied, 13).back().second : RowMatrix<float>();
  const RowMatrix<float> embedding = tiny::weights(untied, 13).front().second;
  CHECK((a.logits(tokens) - h * head.transpose()).cwiseAbs().maxCoeff() < 1e-5f);
  CHECK((b.logits(tokens) - h * embedding.transpose()).cwiseAbs().maxCoeff() < 1e-5f);
  CHECK((a.logits(tokens) - b.logits(tokens)).cwiseAbs().maxCoeff() > 0.1f);
}

TEST_CASE("single, sharded and bfloat16 checkpoint directories load the same model") {
  const Qwen2Config c = tiny::config(4, 2, false);
  const std::span<const TokenId> tokens(prompt);
  const Qwen2<> single(tiny::write(scratch("single"), c, 14, 1));
  const Qwen2<> sharded(tiny::write(scratch("sharded"), c, 14, 3));
  CHECK(single.logits(tokens) == sharded.logits(tokens));
  const Qwen2<> memory(c, tiny::store(c, 14), CpuBackend<float>(1), WeightFormat::as_stored, "tiny");
  CHECK(single.logits(tokens) == memory.logits(tokens));

  const Qwen2<> stored_bf16(tiny::write(scratch("bf16"), c, 14, 2, io::DType::BF16));
  const Qwen2<> rounded(c, tiny::store(c, 14), CpuBackend<float>(1), WeightFormat::bf16, "tiny");
  const float moved = (stored_bf16.logits(tokens) - single.logits(tokens)).cwiseAbs().maxCoeff();
  CHECK(moved > 1e-4f);  // bfloat16 storage really rounds
  CHECK(moved < 0.2f);
  // Matrices rounded at load time are the stored bfloat16 matrices; only the norm weights and
  // biases (float32 in `rounded`) differ, so the two stay close.
  CHECK((stored_bf16.logits(tokens) - rounded.logits(tokens)).cwiseAbs().maxCoeff() < 0.1f);
}

TEST_CASE("the embedding hook replaces rows, and only later positions see the change") {
  const Qwen2Config c = tiny::config(4, 2, true);
  const Qwen2<> model(c, tiny::store(c, 15), CpuBackend<float>(2), WeightFormat::as_stored, "tiny");
  const std::span<const TokenId> tokens(prompt);
  const RowMatrix<float> plain = model.hidden_states(tokens);
  auto cache = model.make_cache();
  CHECK(model.hidden_states(tokens, cache, [](std::span<const TokenId>, RowMatrix<float>&) {}) == plain);

  // The <NUM> recipe: embedding(token) * sigmoid(value) at chosen positions.
  const float value = 2.5f, gate = 1.0f / (1.0f + std::exp(-value));
  auto scaled_cache = model.make_cache();
  const RowMatrix<float> scaled = model.hidden_states(tokens, scaled_cache, [&](std::span<const TokenId> ids, RowMatrix<float>& e) {
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (ids[i] == 8) e.row(static_cast<Eigen::Index>(i)) *= gate;
  });
  RowMatrix<float> manual = model.embeddings(tokens);
  manual.row(4) = model.embedding_row(8) * gate;
  manual.row(5) = model.embedding_row(8) * gate;
  CHECK(model.hidden_states_from_embeddings(manual) == scaled);
  CHECK(scaled.topRows(4) == plain.topRows(4));  // causal: earlier positions unchanged
  CHECK((scaled.row(4) - plain.row(4)).cwiseAbs().maxCoeff() > 1e-3f);
}

TEST_CASE("adding a token row extends the embedding and the output projection") {
  const std::span<const TokenId> tokens(prompt);
  RowVector<float> row = RowVector<float>::LinSpaced(32, -1.0f, 1.0f);
  SUBCASE("tied") {
    const Qwen2Config c = tiny::config(4, 2, true);
    Qwen2<> model(c, tiny::store(c, 16), CpuBackend<float>(1), WeightFormat::as_stored, "tiny");
    const RowMatrix<float> before = model.logits(tokens);
    const TokenId id = model.add_token(row);
    CHECK(id == 40);
    CHECK(model.vocab_size() == 41);
    CHECK(model.embedding_row(id) == row);
    const RowMatrix<float> h = model.hidden_states(tokens);
    const RowMatrix<float> after = model.logits(h);
    CHECK(after.cols() == 41);
    CHECK(after.leftCols(40) == before);
    CHECK((after.col(40) - h * row.transpose()).cwiseAbs().maxCoeff() < 1e-5f);
    const std::vector<TokenId> with_new = {1, id, 2};
    CHECK(model.hidden_states(std::span<const TokenId>(with_new)).rows() == 3);
    CHECK_THROWS_AS(model.add_token(row, row), causalqwen::error);
  }
  SUBCASE("untied, bfloat16") {
    const Qwen2Config c = tiny::config(4, 2, false);
    Qwen2<> model(c, tiny::store(c, 16), CpuBackend<float>(1), WeightFormat::bf16, "tiny");
    CHECK_THROWS_AS(model.add_token(row), causalqwen::error);
    const RowVector<float> out = -row;
    const TokenId id = model.add_token(row, out);
    CHECK(id == 40);
    CHECK((model.embedding_row(id) - row).cwiseAbs().maxCoeff() < 1e-2f);  // rounded to bfloat16
    const RowMatrix<float> h = model.hidden_states(tokens);
    CHECK((model.logits(h).col(40) - h * out.transpose()).cwiseAbs().maxCoeff() < 0.05f);
  }
}

TEST_CASE("bad inputs to the forward pass are errors") {
  const Qwen2Config c = tiny::config(4, 2, true);
  const Qwen2<> model(c, tiny::store(c, 17), CpuBackend<float>(1), WeightFormat::as_stored, "tiny");
  const std::vector<TokenId> bad = {1, 40};
  CHECK_THROWS_WITH_AS(model.hidden_states(std::span<const TokenId>(bad)), doctest::Contains("token id 40"), causalqwen::error);
  const std::vector<TokenId> negative = {-1};
  CHECK_THROWS_AS(model.hidden_states(std::span<const TokenId>(negative)), causalqwen::error);
  const std::vector<TokenId> too_long(65, 1);
  CHECK_THROWS_WITH_AS(model.hidden_states(std::span<const TokenId>(too_long)), doctest::Contains("max_position_embeddings"),
                       causalqwen::error);
  const Qwen2Config other = tiny::config(4, 4, true);
  const Qwen2<> wider(other, tiny::store(other, 17), CpuBackend<float>(1), WeightFormat::as_stored, "tiny");
  auto cache = wider.make_cache();
  CHECK_THROWS_WITH_AS(model.hidden_states(std::span<const TokenId>(prompt), cache), doctest::Contains("KV cache"),
                       causalqwen::error);
  CHECK_THROWS_AS(model.hidden_states_from_embeddings(RowMatrix<float>::Zero(2, 31)), causalqwen::error);
  CHECK_THROWS_AS(CpuBackend<float>(0), causalqwen::error);
  CHECK(model.hidden_states(std::span<const TokenId>()).rows() == 0);
}

}  // namespace causalqwen_tests_backbone_qwen2_models
