// The Python module `causalqwen`: the Cauchy law, the tokenizer, the causal head in double
// precision (forward, decisions, loss and its analytic gradient), causal models (encoding, hidden
// states, decisions, generation) and the domain workflow (adaptation on text, knowledge deltas,
// fusion and its certificate), with numpy arrays in and out. Inputs are read through Eigen::Ref (no copy when the
// array is already C-contiguous of the right dtype); results are new arrays. Library errors
// arrive in Python as ValueError with the library's message.

#include "cli/domain.hpp"
#include "cli/model_options.hpp"

#include <causalqwen/causalqwen.hpp>

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace py = pybind11;
namespace cq = causalqwen;
using namespace pybind11::literals;

namespace {

using Model = cq::cli::Model;
using Head = cq::head::CausalHead<double, cq::cli::Link, cq::cli::Thresholds>;
using FloatRows = Eigen::Ref<const cq::RowMatrix<float>>;
using DoubleRows = Eigen::Ref<const cq::RowMatrix<double>>;

template <class T>
py::array_t<T> array(const std::vector<T>& values) {
  return py::array_t<T>(static_cast<py::ssize_t>(values.size()), values.data());
}

std::filesystem::path model_path(const std::optional<std::filesystem::path>& path) {
  return path ? *path : cq::programs::default_model_dir();
}

py::dict generation_dict(const cq::model::Generation& g) {
  return py::dict("tokens"_a = array(g.tokens), "values"_a = array(g.values), "value_scales"_a = array(g.value_scales),
                  "probabilities"_a = array(g.probabilities), "text"_a = g.text, "stopped"_a = g.stopped);
}

/// One number per position, NaN where the report has no value (and says why in `reasons`).
template <class Get>
py::array_t<double> per_position(const cq::domain::FusionReport<double>& r, Get&& get) {
  std::vector<double> out;
  for (const auto& p : r.positions) out.push_back(get(p));
  return array(out);
}

double value_or_nan(const cq::FusionResult<double>& r) { return r ? r.value() : std::nan(""); }

/// Parameters (or their gradient) as {"abduction.loc_weight": array, ...}, the checkpoint's names.
template <cq::head::ParameterSet P>
py::dict blocks_dict(const P& params) {
  py::dict d;
  cq::head::for_each_block(params, [&](const std::string& name, const auto& block) { d[name.c_str()] = block; });
  return d;
}

template <cq::head::ParameterSet P>
P blocks_from_dict(P params, const py::dict& d, std::string_view who) {
  cq::head::for_each_block(params, [&](const std::string& name, auto& block) {
    cq::require(d.contains(name.c_str()), who, ": no parameter '", name, "'");
    try {
      block = py::cast<std::decay_t<decltype(block)>>(d[name.c_str()]);
    } catch (const py::cast_error&) {
      cq::fail(who, ": parameter '", name, "' is not a float array of ", block.rows() > 1 && block.cols() > 1 ? 2 : 1,
               " dimension(s)");
    }
  });
  return params;
}

cq::RowMatrix<double> hidden_for(const Head& head, const DoubleRows& h, std::string_view who) {
  cq::require(static_cast<std::size_t>(h.cols()) == head.hidden_size(), who, ": hidden states have ", h.cols(),
              " columns, the head expects H = ", head.hidden_size());
  cq::require(h.allFinite(), who, ": hidden states contain NaN or infinity");
  return h;
}

cq::head::Targets<double> targets_of(const std::vector<std::int32_t>& classes, const std::vector<double>& values,
                                     const std::optional<std::vector<std::uint8_t>>& ignore) {
  cq::head::Targets<double> t{classes, Eigen::Map<const cq::Vector<double>>(values.data(),
                                                                            static_cast<Eigen::Index>(values.size())),
                              ignore.value_or(std::vector<std::uint8_t>{})};
  return t;
}

cq::head::LossOptions<double> loss_options(double lambda, double gate_alpha, bool gate_gradient,
                                           const std::string& class_reduction) {
  cq::require(class_reduction == "sum" || class_reduction == "mean", "loss: class_reduction must be 'sum' or 'mean', got '",
              class_reduction, "'");
  return {.lambda = lambda,
          .gate_alpha = gate_alpha,
          .gate_gradient = gate_gradient,
          .class_reduction = class_reduction == "sum" ? cq::head::ClassReduction::sum : cq::head::ClassReduction::mean};
}

py::dict loss_dict(const cq::head::LossValue<double>& l) {
  return py::dict("total"_a = l.total, "classification"_a = l.classification, "regression"_a = l.regression,
                  "positions"_a = l.positions);
}

py::dict delta_dict(const cq::domain::KnowledgeDelta<double>& d) {
  return py::dict("domain"_a = d.domain, "scale_link"_a = d.scale_link, "base_checksum"_a = d.base_checksum,
                  "epsilon"_a = d.epsilon, "max_kl"_a = d.max_kl, "kl_weight"_a = d.kl_weight,
                  "weights"_a = blocks_dict(d.weights));
}

cq::Vector<double> weights_of(const std::vector<double>& alpha, std::size_t deltas, std::string_view who) {
  cq::require(alpha.empty() || alpha.size() == deltas, who, ": ", alpha.size(), " weights for ", deltas, " deltas");
  if (alpha.empty()) return cq::Vector<double>::Ones(static_cast<Eigen::Index>(deltas));
  return Eigen::Map<const cq::Vector<double>>(alpha.data(), static_cast<Eigen::Index>(alpha.size()));
}

}  // namespace

PYBIND11_MODULE(causalqwen, m) {
  m.doc() = "CausalQwen: causal language models on Cauchy abduction and action";
  py::register_exception<cq::error>(m, "Error", PyExc_ValueError);

  m.def("cauchy_pdf", py::vectorize([](double x, double loc, double scale) { return cq::pdf(cq::Cauchy<double>(loc, scale), x); }),
        "x"_a, "loc"_a, "scale"_a, "Density of Cauchy(loc, scale) at x (element-wise over arrays).");
  m.def("cauchy_cdf", py::vectorize([](double x, double loc, double scale) { return cq::cdf(cq::Cauchy<double>(loc, scale), x); }),
        "x"_a, "loc"_a, "scale"_a, "P(X <= x) for X ~ Cauchy(loc, scale), tails computed directly.");
  m.def("cauchy_kl",
        py::vectorize([](double loc_p, double scale_p, double loc_q, double scale_q) {
          return cq::kl_divergence(cq::Cauchy<double>(loc_p, scale_p), cq::Cauchy<double>(loc_q, scale_q));
        }),
        "loc_p"_a, "scale_p"_a, "loc_q"_a, "scale_q"_a, "Exact KL(P || Q) of two Cauchy laws (element-wise).");
  m.def(
      "central_interval",
      [](double median, double scale, double level) {
        const auto i = cq::model::central_interval(median, scale, level);
        return py::make_tuple(i.low, i.high);
      },
      "median"_a, "scale"_a, "level"_a, "The central interval of Cauchy(median, scale) holding probability level.");
  m.attr("default_model") = cq::programs::default_model_dir();

  py::class_<cq::Tokenizer>(m, "Tokenizer", "A byte-level BPE tokenizer (Hugging Face tokenizer.json).")
      .def(py::init([](const std::filesystem::path& path) { return cq::load_tokenizer(path); }), "path"_a,
           "A tokenizer.json, a model directory holding one, or a GGUF file.")
      .def_property_readonly("id_limit", &cq::Tokenizer::id_limit, "One past the largest id.")
      .def_property_readonly("added_tokens",
                             [](const cq::Tokenizer& t) {
                               std::vector<std::string> out;
                               for (const auto& a : t.added_tokens()) out.push_back(a.content);
                               return out;
                             })
      .def(
          "encode",
          [](const cq::Tokenizer& t, const std::string& text, bool parse_special) {
            return array(t.encode(text, {.parse_special = parse_special}));
          },
          "text"_a, "parse_special"_a = false,
          "Ids of the text (int32). Special tokens written in the text count only with parse_special.")
      .def(
          "decode",
          [](const cq::Tokenizer& t, const std::vector<cq::TokenId>& ids, bool skip_special) {
            return t.decode(ids, {.skip_special = skip_special});
          },
          "ids"_a, "skip_special"_a = false)
      .def("token", &cq::Tokenizer::token, "id"_a, "The vocabulary spelling of a token.")
      .def("token_id", &cq::Tokenizer::token_id, "token"_a, "The id of a vocabulary spelling, or None.");

  py::class_<Head>(m, "CausalHead",
                   "The causal head in float64: abduction -> exogenous noise -> action -> one-vs-rest decisions and "
                   "the <NUM> value, with the loss and its analytic gradient.")
      .def(py::init([](const std::optional<std::filesystem::path>& model) {
             return cq::cli::head_of_model_directory(model_path(model));
           }),
           "model"_a = py::none(), "The head of a causal model directory (None: the embedded model).")
      .def_static(
          "random",
          [](std::size_t hidden, std::size_t latent, std::size_t classes, std::uint64_t seed) {
            cq::require(hidden > 0 && latent > 0 && classes >= 2, "CausalHead.random: need hidden, latent > 0 and "
                        "classes >= 2, got ", hidden, ", ", latent, ", ", classes);
            std::mt19937_64 rng(seed);
            return Head::random(hidden, latent, classes, rng);
          },
          "hidden"_a, "latent"_a, "classes"_a, "seed"_a = 0, "A freshly initialised head (H, D, K+1).")
      .def_property_readonly("hidden_size", &Head::hidden_size)
      .def_property_readonly("latent_size", &Head::latent_size)
      .def_property_readonly("classes", &Head::classes, "K + 1; the last class is <NUM>.")
      .def_property_readonly_static("scale_link", [](py::object) { return std::string(cq::cli::Link::name()); })
      .def(
          "params", [](const Head& h) { return blocks_dict(h.params()); },
          "Every parameter as {name: array} (copies), named as in the checkpoint.")
      .def(
          "set_params", [](Head& h, const py::dict& d) { h.set_params(blocks_from_dict(h.params(), d, "set_params")); },
          "params"_a, "Replaces every parameter; shapes must match, values must be finite.")
      .def(
          "forward",
          [](const Head& head, const DoubleRows& h) {
            const auto f = head.forward(hidden_for(head, h, "forward"));
            const auto& a = f.action;
            const cq::Vector<double> c = head.action().threshold();
            cq::RowMatrix<double> p(a.class_loc.rows(), a.class_loc.cols());
            for (Eigen::Index i = 0; i < p.rows(); ++i)
              for (Eigen::Index k = 0; k < p.cols(); ++k)
                p(i, k) = cq::stable::ovr_probability(a.class_loc(i, k) - c(k), a.class_scale(i, k));
            return py::dict("latent_loc"_a = f.perturbed.latent.loc, "latent_scale"_a = f.perturbed.latent.scale,
                            "class_loc"_a = a.class_loc, "class_scale"_a = a.class_scale, "probabilities"_a = p,
                            "value_loc"_a = a.value_loc, "value_scale"_a = a.value_scale);
          },
          "hidden"_a,
          "Every law of the head for h [N x H]: U after the noise, the class scores S_k, P_k = P(S_k > C_k), the "
          "<NUM> value Y.")
      .def(
          "predict",
          [](const Head& head, const DoubleRows& h) {
            const auto p = head.predict(hidden_for(head, h, "predict"));
            return py::dict("classes"_a = array(p.classes), "confidence"_a = p.confidence, "value_loc"_a = p.value_loc,
                            "value_scale"_a = p.value_scale);
          },
          "hidden"_a, "The decision per row: class, its P_k, the value's loc and scale.")
      .def(
          "loss",
          [](const Head& head, const DoubleRows& h, const std::vector<std::int32_t>& classes,
             const std::vector<double>& values, const std::optional<std::vector<std::uint8_t>>& ignore, double lambda,
             double gate_alpha, bool gate_gradient, const std::string& class_reduction) {
            return loss_dict(head.loss(hidden_for(head, h, "loss"), targets_of(classes, values, ignore),
                                       loss_options(lambda, gate_alpha, gate_gradient, class_reduction)));
          },
          "hidden"_a, "classes"_a, "values"_a, "ignore"_a = py::none(), "lam"_a = 1.0, "gate_alpha"_a = 0.0,
          "gate_gradient"_a = true, "class_reduction"_a = "sum",
          "The training loss: sum_k BCE + lam * gate * Cauchy NLL at <NUM> targets, averaged over positions.")
      .def(
          "loss_and_gradient",
          [](const Head& head, const DoubleRows& h, const std::vector<std::int32_t>& classes,
             const std::vector<double>& values, const std::optional<std::vector<std::uint8_t>>& ignore, double lambda,
             double gate_alpha, bool gate_gradient, const std::string& class_reduction) {
            const auto [l, g] = head.loss_and_gradient(hidden_for(head, h, "loss_and_gradient"),
                                                       targets_of(classes, values, ignore),
                                                       loss_options(lambda, gate_alpha, gate_gradient, class_reduction));
            py::dict grads = blocks_dict(g.params);
            grads["hidden"] = g.hidden;
            return py::make_tuple(loss_dict(l), grads);
          },
          "hidden"_a, "classes"_a, "values"_a, "ignore"_a = py::none(), "lam"_a = 1.0, "gate_alpha"_a = 0.0,
          "gate_gradient"_a = true, "class_reduction"_a = "sum",
          "The loss and its analytic gradient w.r.t. every parameter (same names as params()) and 'hidden'.")
      .def(
          "fused",
          [](const Head& head, const std::vector<std::filesystem::path>& deltas, const std::vector<double>& alpha) {
            Head fused = head;
            cq::cli::fuse_into(fused, deltas, weights_of(alpha, deltas.size(), "fused"));
            return fused;
          },
          "deltas"_a, "alpha"_a = std::vector<double>{},
          "This head with the abduction W_base + sum_j alpha_j delta_j (the deltas must be taken against it).");

  m.def(
      "load_delta", [](const std::filesystem::path& file) { return delta_dict(cq::domain::load_delta<double>(file)); },
      "file"_a, "A knowledge delta: its domain, base checksum, achieved KL and the weights W' - W_base.");
  m.def(
      "fuse",
      [](const std::vector<std::filesystem::path>& deltas, const std::filesystem::path& out,
         const std::vector<double>& alpha, const std::optional<std::filesystem::path>& model) {
        cq::cli::FuseCommand c;
        c.model_dir = model_path(model);
        c.out_dir = out;
        c.delta_files = deltas;
        c.write(weights_of(alpha, deltas.size(), "fuse"));
      },
      "deltas"_a, "out"_a, "alpha"_a = std::vector<double>{}, "model"_a = py::none(),
      "Writes the causal model directory `out`: the model's abduction plus sum_j alpha_j delta_j.");

  py::class_<Model>(m, "CausalLM", "A causal language model for inference (tokenizer, Qwen2 backbone, causal head).")
      .def(py::init([](const std::optional<std::filesystem::path>& path, int threads, bool exact) {
             return cq::model::load_causal_lm<Model>(
                 model_path(path), cq::CpuBackend<float>(threads, exact ? cq::kernels::MatmulPrecision::exact
                                                                        : cq::kernels::MatmulPrecision::bf16_activations));
           }),
           "path"_a = py::none(), "threads"_a = 1, "exact"_a = false,
           "A causal model directory, a Hugging Face Qwen2 directory or a GGUF file (None: the embedded model). "
           "exact=True multiplies a bfloat16 model's prompts with float activations instead of bfloat16 ones.")
      .def_property_readonly("num_token", &Model::num_token, "The id (and class) of <NUM>.")
      .def_property_readonly("classes", &Model::classes, "K + 1.")
      .def_property_readonly("hidden_size", [](const Model& lm) { return lm.head().hidden_size(); })
      .def_property_readonly("tokenizer", &Model::tokenizer, py::return_value_policy::reference_internal)
      .def(
          "encode",
          [](const Model& lm, const std::string& text) {
            const cq::NumberedText t = lm.encode(text);
            return py::make_tuple(array(t.ids), array(t.values));
          },
          "text"_a, "Ids (numbers as <NUM>) and, beside them, the numbers' values (NaN elsewhere).")
      .def(
          "decode",
          [](const Model& lm, const std::vector<cq::TokenId>& ids, const std::vector<double>& values) {
            cq::require(ids.size() == values.size(), "decode: ", ids.size(), " ids but ", values.size(), " values");
            return lm.decode(ids, values);
          },
          "ids"_a, "values"_a)
      .def(
          "hidden_states",
          [](const Model& lm, const std::string& text) { return cq::RowMatrix<float>(lm.hidden_states(lm.encode(text))); },
          "text"_a, "The backbone's hidden states [T x H] of the text (float32).")
      .def(
          "predict",
          [](const Model& lm, const FloatRows& hidden) {
            cq::require(static_cast<std::size_t>(hidden.cols()) == lm.head().hidden_size(), "predict: hidden states have ",
                        hidden.cols(), " columns, the head expects ", lm.head().hidden_size());
            cq::require(hidden.allFinite(), "predict: hidden states contain NaN or infinity");
            const auto p = lm.head().predict(cq::RowMatrix<float>(hidden));
            return py::dict("classes"_a = array(p.classes), "confidence"_a = cq::Vector<float>(p.confidence),
                            "value_loc"_a = cq::Vector<float>(p.value_loc),
                            "value_scale"_a = cq::Vector<float>(p.value_scale));
          },
          "hidden"_a, "The head's decision per row: class (a token id or <NUM>), its P_k, the value's loc and scale.")
      .def(
          "generate",
          [](const Model& lm, const std::string& prompt, std::size_t max_tokens, bool sample, std::uint64_t seed) {
            py::gil_scoped_release release;
            const auto g = cq::model::generate(lm, prompt, {.max_tokens = max_tokens, .sample = sample, .seed = seed});
            py::gil_scoped_acquire acquire;
            return generation_dict(g);
          },
          "prompt"_a, "max_tokens"_a = 32, "sample"_a = false, "seed"_a = 0,
          "Tokens and numbers with P_k; each number with its Cauchy median (values) and scale.");

  m.def(
      "adapt",
      [](const std::filesystem::path& data, const std::filesystem::path& out, double eps,
         const std::optional<std::filesystem::path>& model, std::size_t epochs, std::uint64_t seed, int threads) {
        cq::cli::AdaptCommand c;
        c.model.path = model_path(model);
        c.model.threads = threads;
        c.data_file = data;
        c.out_file = out;
        c.options.kl_budget = eps;
        c.options.epochs = epochs;
        c.options.seed = seed;
        c.run();
      },
      "data"_a, "out"_a, "eps"_a = 0.05, "model"_a = py::none(), "epochs"_a = 3, "seed"_a = 0, "threads"_a = 1,
      "Adapts the model directory's abduction to the text of `data` under the KL budget eps; writes the delta.");
  m.def(
      "verify_fusion",
      [](const std::vector<std::filesystem::path>& deltas, const std::filesystem::path& data,
         const std::vector<double>& alpha, const std::optional<std::filesystem::path>& model, int threads) {
        cq::cli::VerifyCommand c;
        c.model.path = model_path(model);
        c.model.threads = threads;
        c.delta_files = deltas;
        c.data_file = data;
        const auto r = c.report(weights_of(alpha, deltas.size(), "verify_fusion"));
        return py::dict(
            "exact_kl"_a = per_position(r, [](const auto& p) { return value_or_nan(p.exact_kl); }),
            "design_estimate"_a = per_position(r, [](const auto& p) { return value_or_nan(p.design_estimate); }),
            "certified_bound"_a = per_position(r, [](const auto& p) { return p.bound ? p.bound.value().value : std::nan(""); }),
            "violations"_a = r.summary.violations, "certified"_a = r.certified(), "domains"_a = r.domains);
      },
      "deltas"_a, "data"_a, "alpha"_a = std::vector<double>{}, "model"_a = py::none(), "threads"_a = 1,
      "Per position of the text: the exact KL of the fusion, the design estimate and the certified bound.");
}
