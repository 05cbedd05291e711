#pragma once
// The ordinary language model a causal one is measured against: the same trainable Qwen2
// backbone, tokenizer and packed text, with a softmax over the vocabulary (the tied embedding, or
// lm_head) where the causal model has its head. It carries numbers one of two ways:
//
//   NumberSpelling::digits     numbers are spelled in ordinary tokens and the loss is the mean
//                              next-token cross-entropy: the plain language model.
//   NumberSpelling::num_token  numbers are <NUM>, a softmax class of its own whose input row is
//                              the value encoding e(value), as in the causal model, and a linear
//                              regression head y = w.h + b is trained with squared error:
//                                L = (1/N) sum_i [ CE_i + lambda 1[t_i = <NUM>] (y_i - tau(v_i))^2 ]
//                              over the N counted positions; the answer is tau^-1(y).
//
// tau is the regression's target scale (TargetScale): raw, standardised by the training values'
// mean and deviation, or log-signed sign(v) log(1 + |v|). It trains through the same
// CausalLMTrainer and train_causal_lm as the causal model (LossOptions' lambda weighs the squared
// error; the gate fields have no meaning here). Its directory is the Hugging Face Qwen2 checkpoint
// plus value_encoding.safetensors and regression.safetensors (w, b and tau).

#include <causalqwen/backbone/qwen2_parameters.hpp>
#include <causalqwen/backbone/qwen2_training.hpp>
#include <causalqwen/backend/backend.hpp>
#include <causalqwen/backend/cpu_backend.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/core/scope_exit.hpp>
#include <causalqwen/head/loss.hpp>
#include <causalqwen/head/parameters.hpp>
#include <causalqwen/io/dtype.hpp>
#include <causalqwen/io/safetensors.hpp>
#include <causalqwen/kernels/softmax.hpp>
#include <causalqwen/model/causal_lm_files.hpp>
#include <causalqwen/model/causal_lm_training.hpp>
#include <causalqwen/model/training_text.hpp>
#include <causalqwen/model/value_encoding.hpp>
#include <causalqwen/tokenizer/numbers.hpp>
#include <causalqwen/tokenizer/tokenizer.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace causalqwen::model {

enum class TargetScale { raw, standardised, log_signed };

inline constexpr std::string_view to_string(TargetScale s) {
  return s == TargetScale::raw ? "raw" : s == TargetScale::standardised ? "standardised" : "log-signed";
}

inline TargetScale parse_target_scale(std::string_view name) {
  for (const TargetScale s : {TargetScale::raw, TargetScale::standardised, TargetScale::log_signed})
    if (name == to_string(s)) return s;
  fail("target scale '", name, "': expected raw, standardised or log-signed");
}

/// tau and its inverse. `mean` and `deviation` are used by TargetScale::standardised only.
struct TargetTransform {
  TargetScale scale = TargetScale::log_signed;
  double mean = 0, deviation = 1;

  /// The transform for `scale` fitted to the counted <NUM> (`num`) targets of `data`: their mean
  /// and population deviation, for the standardised scale (fewer than two targets are refused).
  static TargetTransform fit(TargetScale scale, const SequenceSet& data, TokenId num) {
    TargetTransform t{scale, 0, 1};
    if (scale != TargetScale::standardised) return t;
    double sum = 0, squares = 0;
    std::size_t n = 0;
    for (const TrainingSequence& s : data.sequences)
      for (std::size_t i = 1; i < s.ids.size(); ++i)
        if (s.ids[i] == num && !s.ignored(i - 1)) {
          sum += s.values[i];
          squares += s.values[i] * s.values[i];
          ++n;
        }
    require(n >= 2, "TargetTransform::fit: the data has ", n, " <NUM> targets; standardising needs at least 2");
    t.mean = sum / double(n);
    t.deviation = std::sqrt(std::max(squares / double(n) - t.mean * t.mean, 0.0));
    require(t.deviation > 0 && std::isfinite(t.deviation), "TargetTransform::fit: the <NUM> targets have deviation ",
            t.deviation, "; standardising needs a positive finite one");
    return t;
  }

  double forward(double value) const {
    switch (scale) {
      case TargetScale::raw: return value;
      case TargetScale::standardised: return (value - mean) / deviation;
      case TargetScale::log_signed: return std::copysign(std::log1p(std::abs(value)), value);
    }
    return value;
  }
  double inverse(double y) const {
    switch (scale) {
      case TargetScale::raw: return y;
      case TargetScale::standardised: return mean + deviation * y;
      case TargetScale::log_signed: return std::copysign(std::expm1(std::abs(y)), y);
    }
    return y;
  }
};

/// The regression head y = weight . h + bias.
template <Real T>
struct RegressionParams {
  using scalar_type = T;
  Vector<T> weight;
  Vector<T> bias;  ///< [1]

  auto blocks() { return std::tie(weight, bias); }
  auto blocks() const { return std::tie(weight, bias); }
  static std::vector<std::string> block_names() { return {"weight", "bias"}; }
};

/// Every trainable parameter of the softmax model (and the type of its gradient), named as
/// "backbone.*", "encoding.*", "regression.*" for the optimiser.
template <Real T, head::ParameterSet EncodingParams>
struct SoftmaxLMParameters {
  using scalar_type = T;
  Qwen2Parameters<T> backbone;
  EncodingParams encoding;
  RegressionParams<T> regression;

  auto blocks() { return std::tuple_cat(backbone.blocks(), encoding.blocks(), regression.blocks()); }
  auto blocks() const { return std::tuple_cat(backbone.blocks(), encoding.blocks(), regression.blocks()); }
  static std::vector<std::string> block_names() {
    std::vector<std::string> names;
    for (const auto& n : Qwen2Parameters<T>::block_names()) names.push_back("backbone." + n);
    for (const auto& n : EncodingParams::block_names()) names.push_back("encoding." + n);
    for (const auto& n : RegressionParams<T>::block_names()) names.push_back("regression." + n);
    return names;
  }
};

inline constexpr std::string_view kRegressionFile = "regression.safetensors";
inline constexpr std::string_view kRegressionFormat = "causalqwen.regression/1";

template <Backend B = CpuBackend<float>, TrainableValueEncoding E = LogSignedValueEncoding<typename B::scalar_type>>
  requires std::same_as<typename B::scalar_type, typename E::scalar_type>
class TrainableSoftmaxLM {
 public:
  using scalar_type = typename B::scalar_type;
  using T = scalar_type;
  using backbone_type = TrainableQwen2<B>;
  using Parameters = SoftmaxLMParameters<T, typename E::params_type>;

  struct Workspace {
    Qwen2Gradients<B> backbone;
    Parameters gradients;
  };

  /// The model's view of one position: the softmax's logits over the vocabulary and the
  /// regression's answer tau^-1(y) (meaningful where the next token is <NUM>).
  struct Outputs {
    RowMatrix<T> logits;   ///< [L x V]
    Vector<double> value;  ///< [L]
  };

  /// A softmax model on a base model's parameters (a <NUM> row is appended to the embedding, and
  /// lm_head, when the base has none: the mean row, as the causal model does). The encoding
  /// starts as CausalLM::from_base starts it; w ~ N(0, 1/H) drawn with `seed`, b = 0.
  static TrainableSoftmaxLM from_base(std::string tokenizer_json, Qwen2Parameters<T> base, NumberSpelling numbers,
                                      TargetTransform target = {}, B backend = B{},
                                      std::string source = "<tokenizer.json>", std::uint64_t seed = 0) {
    Tokenizer tokenizer = Tokenizer::from_json(tokenizer_json, std::move(source));
    const TokenId num = num_token_id(tokenizer);
    require(num > 0 && num <= base.vocab_size(), "TrainableSoftmaxLM: the tokenizer ", tokenizer.source(),
            " uses ids up to ", num - 1, " but the model has ", base.vocab_size(), " embedding rows");
    const RowVector<T> mean_embedding = base.embed_tokens.topRows(num).colwise().mean();
    const T entry_rms = std::sqrt(base.embed_tokens.topRows(num).squaredNorm() /
                                  T(double(num) * double(base.embed_tokens.cols())));
    if (num == base.vocab_size()) {
      append_row(base.embed_tokens, mean_embedding);
      if (!base.config.tie_word_embeddings) append_row(base.lm_head, RowVector<T>(base.lm_head.colwise().mean()));
    }
    const auto hidden = base.embed_tokens.cols();
    RegressionParams<T> regression{Vector<T>(hidden), Vector<T>::Zero(1)};
    std::mt19937_64 rng(seed);
    std::normal_distribution<T> normal(0, T(1) / std::sqrt(T(hidden)));
    for (Eigen::Index i = 0; i < hidden; ++i) regression.weight(i) = normal(rng);
    E encoding = E::initial(mean_embedding, entry_rms, seed ^ 0x6e756d'656e63ULL);
    return TrainableSoftmaxLM(std::move(tokenizer_json), std::move(tokenizer), std::move(base), std::move(encoding),
                              std::move(regression), numbers, target, std::move(backend));
  }

  /// A directory written by save().
  static TrainableSoftmaxLM load(const std::filesystem::path& directory, B backend = B{}) {
    auto [tokenizer_file, tokenizer_json, base] = read_qwen2_directory<T>(directory);
    Tokenizer tokenizer = Tokenizer::from_json(tokenizer_json, tokenizer_file.string());
    const auto hidden = static_cast<std::size_t>(base.config.hidden_size);
    E encoding = load_value_encoding<E>(directory / kValueEncodingFile, hidden);
    const std::filesystem::path file = directory / kRegressionFile;
    const io::SafetensorsReader reader(file);
    const auto field = [&](const std::string& key) {
      const auto found = reader.metadata().find(key);
      require(found != reader.metadata().end(), file.string(), ": metadata field '", key, "' is missing");
      return found->second;
    };
    require(field("format") == kRegressionFormat, file.string(), ": metadata field 'format' is '", field("format"),
            "', expected '", kRegressionFormat, "'");
    const NumberSpelling numbers = parse_spelling(field("numbers"), file);
    TargetTransform target{parse_target_scale(field("target_scale")), 0, 1};
    const Vector<double> statistics = reader.vector<double>("target_statistics");
    require(statistics.size() == 2, file.string(), ": tensor 'target_statistics' has ", statistics.size(),
            " entries, expected 2 (mean, deviation)");
    target.mean = statistics(0);
    target.deviation = statistics(1);
    RegressionParams<T> regression{reader.vector<T>("weight"), reader.vector<T>("bias")};
    require(std::size_t(regression.weight.size()) == hidden && regression.bias.size() == 1, file.string(),
            ": tensors 'weight' and 'bias' have ", regression.weight.size(), " and ", regression.bias.size(),
            " entries; the model needs ", hidden, " and 1");
    try {
      return TrainableSoftmaxLM(std::move(tokenizer_json), std::move(tokenizer), std::move(base), std::move(encoding),
                                std::move(regression), numbers, target, std::move(backend));
    } catch (const error& e) {
      fail(directory.string(), ": ", e.what());
    }
  }

  /// Writes the directory (see the file comment), each file atomically.
  void save(const std::filesystem::path& directory, io::DType weights = io::DType::F32) const {
    save_qwen2_directory(directory, backbone_, tokenizer_json_, weights);
    save_value_encoding(encoding_, directory / kValueEncodingFile);
    io::SafetensorsWriter writer;
    writer.set_metadata("format", std::string(kRegressionFormat));
    writer.set_metadata("numbers", numbers_ == NumberSpelling::digits ? "digits" : "num_token");
    writer.set_metadata("target_scale", std::string(to_string(target_.scale)));
    writer.add("weight", regression_.weight);
    writer.add("bias", regression_.bias);
    Vector<double> statistics(2);
    statistics << target_.mean, target_.deviation;
    writer.add("target_statistics", statistics);
    writer.write(directory / kRegressionFile);
  }

  const Tokenizer& tokenizer() const { return tokenizer_; }
  TokenId num_token() const { return num_; }
  NumberSpelling numbers() const { return numbers_; }
  const TargetTransform& target() const { return target_; }
  const backbone_type& backbone() const { return backbone_; }
  const E& encoding() const { return encoding_; }
  const B& backend() const { return backbone_.backend(); }
  void set_recompute_activations(bool recompute) { backbone_.set_recompute_activations(recompute); }

  Parameters parameters() const { return {backbone_.parameters(), encoding_.params(), regression_}; }

  /// Edits every parameter in place (an optimiser step); the backend copies are refreshed after.
  template <class Edit>
  void update(Edit&& edit) {
    backbone_.update_parameters([&](Qwen2Parameters<T>& backbone) {
      Parameters all{std::move(backbone), encoding_.params(), std::move(regression_)};
      // Put the parts back even when the edit throws (AdamW refuses a non-finite gradient).
      const ScopeExit restore([&] {
        backbone = std::move(all.backbone);
        regression_ = std::move(all.regression);
      });
      edit(all);
      encoding_ = E(std::move(all.encoding));
    });
  }

  Workspace workspace() const {
    return {backbone_.zero_gradients(),
            {Qwen2Parameters<T>::zeros(backbone_.config(), backbone_.vocab_size()), head::zeros_like(encoding_.params()),
             head::zeros_like(regression_)}};
  }

  /// L on `batch` (see the file comment; sequences as causal_lm_forward takes them) and, in
  /// workspace.gradients, dL/d(every parameter). options.lambda weighs the squared error.
  template <class Rng = std::mt19937_64>
  head::LossValue<T> loss_and_gradient(std::span<const TrainingSequence> batch, const head::LossOptions<T>& options,
                                       Workspace& workspace, Rng* = nullptr) const {
    auto [tapes, hidden, targets] = causal_lm_forward(backbone_, encoding_, backbone_.hidden_size(),
                                                      std::size_t(num_) + 1, num_, batch);
    Counted counted = gather(hidden, targets);
    RowMatrix<T> d_logits;
    head::LossValue<T> loss = value_of(counted, options, &d_logits);
    backbone_.reset_gradients(workspace.backbone);
    RowMatrix<T> d_counted = backbone_.logits_backward(counted.hidden, d_logits, workspace.backbone);
    d_counted.noalias() += counted.d_prediction * regression_.weight.transpose();
    workspace.gradients.regression.weight.noalias() = counted.hidden.transpose() * counted.d_prediction;
    workspace.gradients.regression.bias(0) = counted.d_prediction.sum();
    RowMatrix<T> d_hidden = RowMatrix<T>::Zero(hidden.rows(), hidden.cols());
    for (std::size_t j = 0; j < counted.rows.size(); ++j) d_hidden.row(counted.rows[j]) = d_counted.row(Eigen::Index(j));
    causal_lm_backward(backbone_, encoding_, num_, batch, tapes, d_hidden, workspace.backbone,
                       workspace.gradients.encoding);
    backbone_.gradients(workspace.backbone, workspace.gradients.backbone);
    return loss;
  }

  /// The loss and gradients with a fresh workspace.
  std::pair<head::LossValue<T>, Parameters> loss_and_gradient(std::span<const TrainingSequence> batch,
                                                              const head::LossOptions<T>& options) const {
    Workspace workspace = this->workspace();
    const auto loss = loss_and_gradient(batch, options, workspace);
    return {loss, std::move(workspace.gradients)};
  }

  /// L on `batch` alone.
  template <class Rng = std::mt19937_64>
  head::LossValue<T> loss(std::span<const TrainingSequence> batch, const head::LossOptions<T>& options,
                          Rng* = nullptr) const {
    auto forward = causal_lm_forward(backbone_, encoding_, backbone_.hidden_size(), std::size_t(num_) + 1, num_, batch);
    Counted counted = gather(forward.hidden, forward.targets);
    return value_of(counted, options, nullptr);
  }

  /// The logits and regression answers at every position of `ids` (values beside them, finite at
  /// <NUM>): position t's row is the prediction of token t+1.
  Outputs outputs(std::span<const TokenId> ids, std::span<const double> values) const {
    require(!ids.empty() && values.size() == ids.size(), "TrainableSoftmaxLM::outputs: ", ids.size(), " ids and ",
            values.size(), " values; one value per id, at least one id");
    RowMatrix<T> embeddings = backbone_.embeddings(ids);
    for (std::size_t t = 0; t < ids.size(); ++t)
      if (ids[t] == num_) embeddings.row(static_cast<Eigen::Index>(t)) = encoding_.encode(values[t]);
    const RowMatrix<T> hidden = backbone_.hidden(backbone_.forward(embeddings));
    Outputs out{backbone_.logits(hidden), Vector<double>(hidden.rows())};
    const Vector<T> y = (hidden * regression_.weight).array() + regression_.bias(0);
    for (Eigen::Index t = 0; t < y.size(); ++t) out.value(t) = target_.inverse(double(y(t)));
    return out;
  }

  /// Training text packed as this model reads it (numbers as <NUM> or spelled, see numbers()).
  SequenceSet pack(std::span<const std::string> documents, std::size_t sequence_length) const {
    return pack_documents(tokenizer_, num_, documents, sequence_length, numbers_);
  }

 private:
  /// The counted positions of a batch: their hidden states, classes, transformed <NUM> targets
  /// and, once value_of has run, dL/dy.
  struct Counted {
    std::vector<Eigen::Index> rows;  ///< their rows among the batch's positions
    RowMatrix<T> hidden;
    std::vector<TokenId> classes;
    std::vector<double> target;  ///< tau(v) at <NUM> classes, NaN elsewhere
    Vector<T> d_prediction;
  };

  Counted gather(const RowMatrix<T>& hidden, const head::Targets<T>& targets) const {
    Counted c;
    for (std::size_t i = 0; i < targets.classes.size(); ++i)
      if (!targets.ignore[i]) c.rows.push_back(Eigen::Index(i));
    c.hidden.resize(Eigen::Index(c.rows.size()), hidden.cols());
    for (std::size_t j = 0; j < c.rows.size(); ++j) {
      const auto i = c.rows[j];
      c.hidden.row(Eigen::Index(j)) = hidden.row(i);
      c.classes.push_back(targets.classes[std::size_t(i)]);
      c.target.push_back(c.classes.back() == num_ ? target_.forward(double(targets.values(i)))
                                                  : std::numeric_limits<double>::quiet_NaN());
      require(c.classes.back() != num_ || std::isfinite(c.target.back()), "TrainableSoftmaxLM: the <NUM> target ",
              double(targets.values(i)), " has no finite ", to_string(target_.scale), " value");
    }
    return c;
  }

  /// The loss of the counted positions; with `d_logits`, dL/dlogits there and dL/dy in c.
  head::LossValue<T> value_of(Counted& c, const head::LossOptions<T>& options, RowMatrix<T>* d_logits) const {
    require(std::isfinite(options.lambda) && options.lambda >= 0, "TrainableSoftmaxLM: lambda must be >= 0, got ",
            options.lambda);
    const auto n = Eigen::Index(c.rows.size());
    RowMatrix<T> scratch;
    head::LossValue<T> loss;
    loss.positions = c.rows.size();
    loss.classification = kernels::softmax_cross_entropy(backbone_.logits(c.hidden), c.classes, d_logits ? *d_logits : scratch);
    const Vector<T> y = (c.hidden * regression_.weight).array() + regression_.bias(0);
    c.d_prediction = Vector<T>::Zero(n);
    double squared = 0;
    for (Eigen::Index j = 0; j < n; ++j) {
      if (c.classes[std::size_t(j)] != num_) continue;
      const double residual = double(y(j)) - c.target[std::size_t(j)];
      squared += residual * residual;
      c.d_prediction(j) = T(2 * double(options.lambda) * residual / double(n));
    }
    loss.regression = T(double(options.lambda) * squared / double(n));
    loss.total = loss.classification + loss.regression;
    return loss;
  }

  static NumberSpelling parse_spelling(const std::string& name, const std::filesystem::path& file) {
    if (name == "digits") return NumberSpelling::digits;
    require(name == "num_token", file.string(), ": metadata field 'numbers' is '", name,
            "', expected digits or num_token");
    return NumberSpelling::num_token;
  }

  static void append_row(RowMatrix<T>& m, const RowVector<T>& row) {
    m.conservativeResize(m.rows() + 1, Eigen::NoChange);
    m.row(m.rows() - 1) = row;
  }

  TrainableSoftmaxLM(std::string tokenizer_json, Tokenizer tokenizer, Qwen2Parameters<T> base, E encoding,
                     RegressionParams<T> regression, NumberSpelling numbers, TargetTransform target, B backend)
      : tokenizer_json_(std::move(tokenizer_json)),
        tokenizer_(std::move(tokenizer)),
        num_(num_token_id(tokenizer_)),
        backbone_(std::move(base), std::move(backend)),
        encoding_(std::move(encoding)),
        regression_(std::move(regression)),
        numbers_(numbers),
        target_(target) {
    require(num_ + 1 == backbone_.vocab_size(), "TrainableSoftmaxLM: the embedding has ", backbone_.vocab_size(),
            " rows; the tokenizer with <NUM> needs exactly ", std::int64_t(num_) + 1);
    require(std::size_t(encoding_.num_embedding().size()) == backbone_.hidden_size() &&
                std::size_t(regression_.weight.size()) == backbone_.hidden_size() && regression_.bias.size() == 1,
            "TrainableSoftmaxLM: the encoding and regression widths ", encoding_.num_embedding().size(), " and ",
            regression_.weight.size(), " do not match the backbone's H = ", backbone_.hidden_size());
    require(target_.scale != TargetScale::standardised || (target_.deviation > 0 && std::isfinite(target_.deviation) &&
                                                          std::isfinite(target_.mean)),
            "TrainableSoftmaxLM: a standardised target needs a finite mean and a positive deviation, got ",
            target_.mean, " and ", target_.deviation);
  }

  std::string tokenizer_json_;
  Tokenizer tokenizer_;
  TokenId num_;
  backbone_type backbone_;
  E encoding_;
  RegressionParams<T> regression_;
  NumberSpelling numbers_;
  TargetTransform target_;
};

}  // namespace causalqwen::model
