// The gradient of the whole causal LM's loss (backbone + <NUM> value encoding + causal head)
// against central finite differences in double, for both value encodings, tied and untied
// backbones, and the encodings' own backward against finite differences of encode().
#include <causalqwen/backbone/qwen2_parameters.hpp>
#include <causalqwen/backbone/qwen2_training.hpp>
#include <causalqwen/head/causal_head.hpp>
#include <causalqwen/head/parameters.hpp>
#include <causalqwen/model/causal_lm_training.hpp>
#include <causalqwen/model/random_qwen2.hpp>
#include <causalqwen/model/value_encoding.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace causalqwen_tests_model_causal_lm_gradient {

using namespace causalqwen;

namespace {

using Model = TrainableQwen2<CpuBackend<double>>;
using Head = head::CausalHead<double>;

Qwen2Config config(std::int64_t kv_heads, bool tied) {
  Qwen2Config c;
  c.vocab_size = 24;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = kv_heads;
  c.head_dim = 4;
  c.max_position_embeddings = 32;
  c.tie_word_embeddings = tied;
  return c;
}

constexpr TokenId num = 23;  // the last row of the table is <NUM>

/// Two sequences with <NUM> at inputs and at targets (and one that is both).
std::vector<model::TrainingSequence> batch() {
  const double none = std::nan("");
  return {model::TrainingSequence{{3, num, 7, num, 1}, {none, 2.5, none, -40.0, none}, {}},
          model::TrainingSequence{{num, 5, 9}, {0.3, none, none}, {}}};
}

/// |numeric - analytic| / max(|analytic|, 1e-4) along a direction half along the gradient.
template <class Loss>
double directional_error(auto gradient, auto perturb, Loss&& loss, std::mt19937& rng) {
  std::normal_distribution<double> normal(0, 1);
  RowMatrix<double> direction(gradient.rows(), gradient.cols());
  for (Eigen::Index i = 0; i < direction.size(); ++i) direction.data()[i] = normal(rng);
  direction /= direction.norm();
  if (gradient.norm() > 0) direction += RowMatrix<double>(gradient) / gradient.norm();
  const double step = 1e-5;
  const double numeric = (loss(perturb(step * direction)) - loss(perturb(-step * direction))) / (2 * step);
  const double analytic = (RowMatrix<double>(gradient).array() * direction.array()).sum();
  return std::abs(numeric - analytic) / std::max(1e-4, std::abs(analytic));
}

template <class Encoding>
double whole_model_error(const Qwen2Config& c, const Encoding& encoding, unsigned seed) {
  const auto backbone_params = load_qwen2_parameters<double>(c, model::random_qwen2_tensors(c, seed), "random Qwen2");
  std::mt19937_64 head_rng(seed);
  const Head causal_head = Head::random(std::size_t(c.hidden_size), 8, std::size_t(num) + 1, head_rng);
  const std::vector<model::TrainingSequence> sequences = batch();
  const head::LossOptions<double> options{};
  const auto loss = [&](const Qwen2Parameters<double>& b, const typename Encoding::params_type& e,
                        const head::HeadParams<double>& h) {
    Head moved = causal_head;
    moved.set_params(h);
    return model::causal_lm_loss_and_gradient(Model(b), Encoding(e), moved, num, sequences, options).loss.total;
  };
  const auto result = model::causal_lm_loss_and_gradient(Model(backbone_params), encoding, causal_head, num,
                                                         sequences, options);
  const auto& g = result.gradients;
  std::mt19937 rng(seed);
  double worst = 0;
  const auto record = [&](const std::string& name, double error) {
    INFO(name, ": relative error ", error);
    CHECK(error <= 1e-6);
    worst = std::max(worst, error);
  };
  for_each_qwen2_tensor(g.backbone, [&](const std::string& name, auto gradient, const auto&) {
    record(name, directional_error(
                     gradient,
                     [&](const RowMatrix<double>& delta) {
                       auto moved = backbone_params;
                       for_each_qwen2_tensor(moved, [&](const std::string& other, auto view, const auto&) {
                         if (other == name) view += delta;
                       });
                       return moved;
                     },
                     [&](const Qwen2Parameters<double>& b) { return loss(b, encoding.params(), causal_head.params()); },
                     rng));
  });
  std::size_t index = 0;
  head::for_each_block(g.encoding, [&](const std::string& name, const auto& gradient) {
    const std::size_t block = index++;
    record("encoding." + name,
           directional_error(
               gradient,
               [&](const RowMatrix<double>& delta) {
                 auto moved = encoding.params();
                 std::size_t i = 0;
                 head::for_each_block(moved, [&](const std::string&, auto& b) {
                   if (i++ == block) b += delta;
                 });
                 return moved;
               },
               [&](const typename Encoding::params_type& e) { return loss(backbone_params, e, causal_head.params()); },
               rng));
  });
  index = 0;
  head::for_each_block(g.head, [&](const std::string& name, const auto& gradient) {
    const std::size_t block = index++;
    const RowMatrix<double> as_matrix = Eigen::Map<const RowMatrix<double>>(gradient.data(), gradient.rows(),
                                                                            gradient.cols());
    record("head." + name, directional_error(
                               as_matrix,
                               [&](const RowMatrix<double>& delta) {
                                 auto moved = causal_head.params();
                                 std::size_t i = 0;
                                 head::for_each_block(moved, [&](const std::string&, auto& b) {
                                   if (i++ == block)
                                     b += Eigen::Map<const RowMatrix<double>>(delta.data(), b.rows(), b.cols());
                                 });
                                 return moved;
                               },
                               [&](const head::HeadParams<double>& h) { return loss(backbone_params, encoding.params(), h); },
                               rng));
  });
  return worst;
}

}  // namespace

TEST_CASE("value encodings: backward against finite differences of encode") {
  std::mt19937 rng(4);
  std::normal_distribution<double> normal(0, 1);
  RowVector<double> num_row(6), w(6), upstream(6);
  for (int i = 0; i < 6; ++i) num_row(i) = normal(rng), w(i) = normal(rng), upstream(i) = normal(rng);
  const model::SigmoidValueEncoding<double> sigmoid(num_row);
  const model::LogSignedValueEncoding<double> log_signed(num_row, w);
  for (double value : {-3.0, -0.2, 0.0, 0.7, 1e3}) {
    auto gs = head::zeros_like(sigmoid.params());
    sigmoid.backward(value, upstream, gs);
    auto gl = head::zeros_like(log_signed.params());
    log_signed.backward(value, upstream, gl);
    const double step = 1e-6;
    for (int i = 0; i < 6; ++i) {
      auto plus = sigmoid.params(), minus = sigmoid.params();
      plus.num_embedding(i) += step;
      minus.num_embedding(i) -= step;
      const double fd = (model::SigmoidValueEncoding<double>(plus).encode(value) -
                         model::SigmoidValueEncoding<double>(minus).encode(value)).dot(upstream) / (2 * step);
      CHECK(gs.num_embedding(i) == doctest::Approx(fd).epsilon(1e-7));
      auto lp = log_signed.params(), lm = log_signed.params();
      lp.w_num(i) += step;
      lm.w_num(i) -= step;
      const double fd_w = (model::LogSignedValueEncoding<double>(lp).encode(value) -
                           model::LogSignedValueEncoding<double>(lm).encode(value)).dot(upstream) / (2 * step);
      CHECK(gl.w_num(i) == doctest::Approx(fd_w).epsilon(1e-7));
      CHECK(gl.num_embedding(i) == doctest::Approx(upstream(i)));
    }
  }
  auto gs = head::zeros_like(sigmoid.params());
  CHECK_THROWS_AS(sigmoid.backward(std::nan(""), upstream, gs), error);
  CHECK_THROWS_AS(sigmoid.backward(1.0, RowVector<double>::Ones(3), gs), error);
}

TEST_CASE("whole causal LM: gradients of backbone, encoding and head against finite differences") {
  for (bool tied : {true, false})
    for (std::int64_t kv_heads : {4, 1}) {
      const Qwen2Config c = config(kv_heads, tied);
      RowVector<double> num_row = RowVector<double>::Constant(c.hidden_size, 0.1);
      const auto log_signed = model::LogSignedValueEncoding<double>::initial(num_row, 0.2, 9);
      const model::SigmoidValueEncoding<double> sigmoid(num_row * 2.0);
      const double log_error = whole_model_error(c, log_signed, 21);
      const double sigmoid_error = whole_model_error(c, sigmoid, 22);
      MESSAGE("causal LM FD (", std::string(tied ? "tied" : "untied"), ", 4/", kv_heads,
              " heads): max relative error, log-signed encoding ", log_error, ", sigmoid encoding ", sigmoid_error);
    }
}

TEST_CASE("the whole-model loss refuses malformed batches") {
  const Qwen2Config c = config(2, true);
  const Model backbone(load_qwen2_parameters<double>(c, model::random_qwen2_tensors(c, 1), "random Qwen2"));
  std::mt19937_64 rng(1);
  const Head causal_head = Head::random(std::size_t(c.hidden_size), 8, std::size_t(num) + 1, rng);
  const auto encoding = model::LogSignedValueEncoding<double>::initial(RowVector<double>::Ones(c.hidden_size), 0.2, 1);
  const head::LossOptions<double> options{};
  const auto run = [&](std::vector<model::TrainingSequence> sequences, TokenId id = num) {
    return model::causal_lm_loss_and_gradient(backbone, encoding, causal_head, id, sequences, options);
  };
  CHECK_THROWS_AS(run({}), error);
  CHECK_THROWS_AS(run({model::TrainingSequence{{3}, {0.0}, {}}}), error);               // nothing to predict
  CHECK_THROWS_AS(run({model::TrainingSequence{{3, 4}, {0.0}, {}}}), error);            // a value per id
  CHECK_THROWS_AS(run({model::TrainingSequence{{3, 30}, {0.0, 0.0}, {}}}), error);      // id beyond <NUM>
  CHECK_THROWS_AS(run({model::TrainingSequence{{num, 4}, {std::nan(""), 0.0}, {}}}), error);  // <NUM> input without a value
  CHECK_THROWS_AS(run({model::TrainingSequence{{3, 4}, {0.0, 0.0}, {}}}, 10), error);   // head of another size
  CHECK(std::isfinite(run({model::TrainingSequence{{3, 4}, {0.0, 0.0}, {}}}).loss.total));
}

}  // namespace causalqwen_tests_model_causal_lm_gradient
