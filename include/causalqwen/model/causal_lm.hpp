#pragma once
// The causal language model: tokenizer + frozen backbone + causal head (abduction, action).
//
// Classes. Class k < K is token id k (K = num_token_id(tokenizer), the first id the tokenizer
// leaves free); class K is <NUM>. So the head has K+1 classes and a decision is a token id.
//
// <NUM> input. A <NUM> position's input embedding is the value encoding's e(value) (see
// value_encoding.hpp), written through the backbone's embedding hook in place of the matrix row.
// When the backbone has no row for id K yet (its vocabulary ends at K), one is appended (the mean
// embedding, and the mean lm_head row for an untied head) so the id is valid everywhere; when the
// checkpoint already has spare rows (Qwen2.5: 151665 < 151936) the spare row is left as is and
// never read.
//
// Initialisation that transfers the base model's knowledge: abduction loc = h (D = H, identity),
// constant scale `abduction_scale`; A = the lm_head rows of the K tokens plus the mean lm_head
// row for <NUM>; B = C = 0. With scale' = 0 (deterministic mode) the decision is then exactly the
// base model's argmax (unless the <NUM> row wins); with a constant scale the OvR probability of
// class k is 1/2 + atan(logit_k / (s |A_k|_1)) / pi, an argmax of logit_k / |A_k|_1, which agrees
// with the base model's argmax where the lm_head rows have similar L1 norms.

#include <causalqwen/backbone/backbone.hpp>
#include <causalqwen/backend/backend.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/causal_head.hpp>
#include <causalqwen/head/inference.hpp>
#include <causalqwen/head/scale_link.hpp>
#include <causalqwen/model/decoder_backbone.hpp>
#include <causalqwen/model/value_encoding.hpp>
#include <causalqwen/tokenizer/numbers.hpp>
#include <causalqwen/tokenizer/tokenizer.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace causalqwen::model {

template <Real T>
struct CausalLMInit {
  T abduction_scale = T(0.1);  ///< the constant scale of U
  T b_noise = T(0.01);         ///< initial |b_noise| per dimension
  head::NoiseSettings<T> noise{};
  std::uint64_t seed = 1;      ///< draws W (the value weights) and the encoding's learned parts
};

/// The causal head and <NUM> encoding that carry a base model's knowledge over (the file
/// comment): A is made on `backend` from the first `num` rows of `output_weight` (in its format)
/// and `mean_output`; e(<NUM>) starts at `mean_embedding`, learned parts at the scale `entry_rms`
/// of an embedding entry. Shared by CausalLM::from_base and the trainer's initialisation.
template <class Head, ValueEncoding Encoding, Backend Bk>
  requires std::same_as<typename Head::scalar_type, typename Encoding::scalar_type>
std::pair<Head, Encoding> initial_head_and_encoding(const Bk& backend, const typename Bk::Weight& output_weight,
                                                    TokenId num, const RowVector<typename Head::scalar_type>& mean_embedding,
                                                    const RowVector<typename Head::scalar_type>& mean_output,
                                                    typename Head::scalar_type entry_rms,
                                                    const CausalLMInit<typename Head::scalar_type>& init) {
  using T = typename Head::scalar_type;
  const auto hidden = mean_embedding.size();
  auto class_weight = backend.leading_weight_rows(output_weight, num, RowMatrix<T>(mean_output));
  std::mt19937_64 rng(init.seed);
  auto small = head::ActionParams<T>::zeros_without_class_weight(static_cast<std::size_t>(num) + 1,
                                                                  static_cast<std::size_t>(hidden));
  const T std_w = T(1) / std::sqrt(T(hidden));
  std::normal_distribution<T> normal(0, 1);
  for (Eigen::Index i = 0; i < hidden; ++i) small.value_weight(i) = std_w * normal(rng);
  auto abduction = Head::abduction_type::identity(static_cast<std::size_t>(hidden), static_cast<std::size_t>(hidden),
                                                  init.abduction_scale, backend);
  typename Head::action_type action(std::move(class_weight), std::move(small), backend);
  Head head(std::move(abduction), std::move(action), Vector<T>::Constant(hidden, init.b_noise), init.noise);
  return {std::move(head), Encoding::initial(mean_embedding, entry_rms, init.seed ^ 0x6e756d'656e63ULL)};
}

template <DecoderBackbone B, head::ScaleLinkPolicy Link = head::ExpLink,
          head::ThresholdPolicy Thresholds = head::LearnedThresholds,
          ValueEncoding Encoding = LogSignedValueEncoding<typename B::scalar_type>>
  requires std::same_as<typename Encoding::scalar_type, typename B::scalar_type>
class CausalLM {
 public:
  using scalar_type = typename B::scalar_type;
  using T = scalar_type;
  using backbone_type = B;
  using backend_type = typename B::backend_type;
  using head_type = head::CausalHead<T, Link, Thresholds, backend_type>;
  using encoding_type = Encoding;
  using Cache = typename B::Cache;

  /// A fresh causal model on `backbone`, initialised from it (see the file comment). A is made
  /// from the backbone's output weight on its backend, in its format (bfloat16 stays bfloat16),
  /// with one extra row: no host copy of the vocabulary-sized matrix is made.
  static CausalLM from_base(Tokenizer tokenizer, B backbone, const CausalLMInit<T>& init = {}) {
    const TokenId num = num_token_id(tokenizer);
    check_vocabulary(tokenizer, backbone, num);
    const auto hidden = static_cast<Eigen::Index>(backbone.hidden_size());
    RowVector<T> mean_embedding = RowVector<T>::Zero(hidden), mean_output = RowVector<T>::Zero(hidden);
    double squares = 0;
    for (TokenId id = 0; id < num; ++id) {
      mean_output += backbone.output_row(id);
      const RowVector<T> e = backbone.embedding_row(id);
      mean_embedding += e;
      squares += double(e.squaredNorm());
    }
    mean_embedding /= T(num);
    mean_output /= T(num);
    if (num == backbone.vocab_size()) {
      if (backbone.config().tie_word_embeddings) backbone.add_token(mean_embedding);
      else backbone.add_token(mean_embedding, mean_output);
    }
    auto [head, encoding] = initial_head_and_encoding<head_type, Encoding>(
        backbone.backend(), backbone.output_weight(), num, mean_embedding, mean_output,
        T(std::sqrt(squares / (double(num) * double(hidden)))), init);
    return CausalLM(std::move(tokenizer), std::move(backbone), std::move(head), std::move(encoding));
  }

  /// Assembles given parts (e.g. a head loaded from a checkpoint); shapes must agree.
  CausalLM(Tokenizer tokenizer, B backbone, head_type head, Encoding encoding)
      : tokenizer_(std::move(tokenizer)),
        backbone_(std::move(backbone)),
        head_(std::move(head)),
        encoding_(std::move(encoding)),
        num_(num_token_id(tokenizer_)) {
    require(num_ <= backbone_.vocab_size(), "CausalLM: the backbone has ", backbone_.vocab_size(),
            " embedding rows, the tokenizer with <NUM> needs ", std::int64_t(num_) + 1);
    check_head(head_);
    require(static_cast<std::size_t>(encoding_.num_embedding().size()) == backbone_.hidden_size(),
            "CausalLM: the <NUM> encoding has width ", encoding_.num_embedding().size(), ", the backbone H = ",
            backbone_.hidden_size());
  }

  const Tokenizer& tokenizer() const { return tokenizer_; }
  const B& backbone() const { return backbone_; }
  const head_type& head() const { return head_; }
  head_type& head() { return head_; }
  const Encoding& encoding() const { return encoding_; }
  /// The id (and class) of <NUM>.
  TokenId num_token() const { return num_; }
  /// K+1.
  std::size_t classes() const { return static_cast<std::size_t>(num_) + 1; }

  /// Replaces the head (e.g. with a trained one); its H and K+1 must match.
  void set_head(head_type head) {
    check_head(head);
    head_ = std::move(head);
  }

  /// Text -> ids with <NUM> for every number, and the values (NaN at other positions).
  NumberedText encode(std::string_view text, const EncodeOptions& options = {}) const {
    return encode_with_numbers(tokenizer_, text, num_, options);
  }
  /// Ids and values -> text, each <NUM> written with format_number.
  std::string decode(std::span<const TokenId> ids, std::span<const double> values) const {
    return decode_with_numbers(tokenizer_, ids, values, num_);
  }

  Cache make_cache() const { return backbone_.make_cache(); }

  /// Hidden states [T x H] of `ids` continuing `cache`; <NUM> positions take the encoding of
  /// their value (which must be finite). `values` runs beside `ids`.
  RowMatrix<T> hidden_states(std::span<const TokenId> ids, std::span<const double> values, Cache& cache) const {
    require(ids.size() == values.size(), "CausalLM: ", ids.size(), " ids but ", values.size(), " values");
    for (std::size_t i = 0; i < ids.size(); ++i)
      require(ids[i] >= 0 && ids[i] <= num_, "CausalLM: token id ", ids[i], " at position ", i,
              " is outside [0, ", num_, "]");
    return backbone_.hidden_states(ids, cache, [&](std::span<const TokenId> tokens, RowMatrix<T>& rows) {
      for (std::size_t i = 0; i < tokens.size(); ++i)
        if (tokens[i] == num_) rows.row(static_cast<Eigen::Index>(i)) = encoding_.encode(values[i]);
    });
  }
  RowMatrix<T> hidden_states(std::span<const TokenId> ids, std::span<const double> values) const {
    Cache cache = make_cache();
    return hidden_states(ids, values, cache);
  }
  RowMatrix<T> hidden_states(const NumberedText& text) const { return hidden_states(text.ids, text.values); }

 private:
  static void check_vocabulary(const Tokenizer& tokenizer, const B& backbone, TokenId num) {
    require(num > 0, "CausalLM: the tokenizer ", tokenizer.source(), " has no tokens");
    require(num <= backbone.vocab_size(), "CausalLM: the tokenizer ", tokenizer.source(), " uses ids up to ", num - 1,
            " but the backbone has only ", backbone.vocab_size(), " embedding rows");
  }
  void check_head(const head_type& head) const {
    require(head.hidden_size() == backbone_.hidden_size() && head.classes() == classes(), "CausalLM: the head has H = ",
            head.hidden_size(), " and K+1 = ", head.classes(), "; the model needs H = ", backbone_.hidden_size(),
            " and K+1 = ", classes(), " (<NUM> = ", num_, ")");
  }

  Tokenizer tokenizer_;
  B backbone_;
  head_type head_;
  Encoding encoding_;
  TokenId num_;
};

}  // namespace causalqwen::model
