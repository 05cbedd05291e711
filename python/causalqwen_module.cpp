// The Python module `causalqwen`: the Cauchy law, causal models (encoding, hidden states, the
// head's decisions, generation) and the domain workflow (adaptation on text, fusion and its
// certificate), with numpy arrays in and out. Inputs are read through Eigen::Ref (no copy when the
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
using FloatRows = Eigen::Ref<const cq::RowMatrix<float>>;

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

  py::class_<Model>(m, "CausalLM", "A causal language model for inference (tokenizer, Qwen2 backbone, causal head).")
      .def(py::init([](const std::optional<std::filesystem::path>& path, int threads) {
             return cq::model::load_causal_lm<Model>(model_path(path), cq::CpuBackend<float>(threads));
           }),
           "path"_a = py::none(), "threads"_a = 1,
           "A causal model directory, a Hugging Face Qwen2 directory or a GGUF file (None: the embedded model).")
      .def_property_readonly("num_token", &Model::num_token, "The id (and class) of <NUM>.")
      .def_property_readonly("classes", &Model::classes, "K + 1.")
      .def_property_readonly("hidden_size", [](const Model& lm) { return lm.head().hidden_size(); })
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
        cq::require(alpha.empty() || alpha.size() == deltas.size(), "verify_fusion: ", alpha.size(),
                    " weights for ", deltas.size(), " deltas");
        const cq::Vector<double> weights =
            alpha.empty() ? cq::Vector<double>::Ones(static_cast<Eigen::Index>(deltas.size()))
                          : cq::Vector<double>(Eigen::Map<const cq::Vector<double>>(
                                alpha.data(), static_cast<Eigen::Index>(alpha.size())));
        const auto r = c.report(weights);
        return py::dict(
            "exact_kl"_a = per_position(r, [](const auto& p) { return value_or_nan(p.exact_kl); }),
            "design_estimate"_a = per_position(r, [](const auto& p) { return value_or_nan(p.design_estimate); }),
            "certified_bound"_a = per_position(r, [](const auto& p) { return p.bound ? p.bound.value().value : std::nan(""); }),
            "violations"_a = r.summary.violations, "certified"_a = r.certified(), "domains"_a = r.domains);
      },
      "deltas"_a, "data"_a, "alpha"_a = std::vector<double>{}, "model"_a = py::none(), "threads"_a = 1,
      "Per position of the text: the exact KL of the fusion, the design estimate and the certified bound.");
}
