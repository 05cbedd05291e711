#pragma once
// Domain knowledge on text, as `causalqwen adapt`, `fuse` and `verify`:
//  - adapt: the abduction W' of a domain, from W_base, on the hidden states of the domain's text
//    under a KL(P(U|h;W_base) || P(U|h;W')) budget; written as the knowledge delta W' - W_base;
//  - fuse: W_base + sum_j alpha_j delta_j as a new causal model directory;
//  - verify: per position of real text, the exact KL of the fusion, the design estimate and the
//    certified bound, computed on the model's own hidden states (exit 3 if a bound fails).

#include "cli/fusion_table.hpp"
#include "cli/model_options.hpp"
#include "cli/plot.hpp"

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace causalqwen::cli {

using Link = Model::head_type::link_type;
using Thresholds = Model::head_type::threshold_policy;

/// The fusion weights as a vector (all 1 when `text` is empty).
inline Vector<double> alpha_vector(const std::string& text, std::size_t deltas) {
  const std::vector<double> a = parse_alpha(text, deltas);
  return Eigen::Map<const Vector<double>>(a.data(), static_cast<Eigen::Index>(a.size()));
}

template <Real T>
std::vector<domain::KnowledgeDelta<T>> load_deltas(const std::vector<std::filesystem::path>& files,
                                                   const head::AbductionParams<T>& base) {
  std::vector<domain::KnowledgeDelta<T>> deltas;
  for (const auto& file : files) {
    deltas.push_back(domain::load_delta<T>(file, std::pair{base.hidden_size(), base.latent_size()}));
    domain::require_matches<Link>(deltas.back(), base, file.string());
  }
  return deltas;
}

/// The causal model directory's head in double precision, for the domain work: a trained head's
/// latent scales can be small enough (1e-6 against locations near 1) that float rounding of the
/// locations alone dominates the KL, and a delta that small vanishes when added in float.
inline head::CausalHead<double, Link, Thresholds> head_of_model_directory(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / model::kCausalHeadFile;
  require(std::filesystem::is_regular_file(file), dir.string(), ": not a causal model directory (no ",
          model::kCausalHeadFile, "; `causalqwen init` makes one)");
  return head::load_head<double, Link, Thresholds>(file);
}

/// Replaces the head's abduction by W_base + sum_j weights_j delta_j, the deltas read from `files`.
inline void fuse_into(head::CausalHead<double, Link, Thresholds>& head, const std::vector<std::filesystem::path>& files,
                      const Vector<double>& weights) {
  const auto deltas = load_deltas(files, head.abduction().params());
  head.abduction().set_params(domain::fuse_abduction<Link>(
      head.abduction().params(), std::span<const domain::KnowledgeDelta<double>>(deltas), weights));
}

struct AdaptCommand {
  ModelOptions model;
  std::filesystem::path data_file, out_file;
  std::string name;
  domain::AdaptationOptions<double> options = [] {
    domain::AdaptationOptions<double> o;
    o.epochs = 3;
    o.kl_budget = 0.05;
    o.optimizer.learning_rate = 1e-3;
    return o;
  }();

  void attach(CLI::App& app) {
    model.attach(app);
    app.add_option("--data", data_file, "the domain's text, one document per line")->required();
    app.add_option("--out", out_file, "knowledge delta file to write (safetensors)")->required();
    app.add_option("--name", name, "the domain's name (default: the data file's stem)");
    app.add_option("--eps", *options.kl_budget, "KL budget: mean KL(P_base || P_domain) over the domain's positions")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--epochs", options.epochs, "passes over the domain's positions")->check(CLI::PositiveNumber);
    app.add_option("--batch", options.batch_size, "positions per optimiser step")->check(CLI::PositiveNumber);
    app.add_option("--lr", options.optimizer.learning_rate, "AdamW learning rate")->check(CLI::PositiveNumber);
    app.add_option("--seed", options.seed, "seed of the batches");
  }

  int run() const {
    const auto base = head_of_model_directory(model.path);
    const Model lm = model.load();
    const auto text = model::text_dataset(lm, model::read_text_lines(data_file));
    const train::Dataset<double> data{text.hidden.cast<double>(),
                                      {text.targets.classes, text.targets.values.cast<double>(), text.targets.ignore}};
    std::printf("domain %s: %zu positions of %s, KL budget %g\n", domain_name().c_str(), data.size(),
                data_file.string().c_str(), *options.kl_budget);
    const auto r = domain::adapt_abduction(base, data, options);
    domain::save_delta(
        domain::make_delta<Link>(domain_name(), base.abduction().params(), r.adapted, r.mean_kl, r.max_kl, r.kl_weight),
        out_file);
    std::printf("adapted in %zu steps: mean KL %.4g (budget %g), max KL %.4g, lambda %.4g, task loss %.4f\n", r.steps,
                r.mean_kl, *options.kl_budget, r.max_kl, r.kl_weight, r.task_loss);
    std::printf("wrote %s\n", out_file.string().c_str());
    return 0;
  }

 private:
  std::string domain_name() const { return name.empty() ? data_file.stem().string() : name; }
};

struct FuseCommand {
  std::filesystem::path model_dir, out_dir;
  std::vector<std::filesystem::path> delta_files;
  std::string alpha;

  void attach(CLI::App& app) {
    app.add_option("--model", model_dir, "causal model directory the deltas were taken against")->required();
    app.add_option("--delta", delta_files, "knowledge delta file (repeat for several)")->required();
    app.add_option("--alpha", alpha, "comma-separated fusion weights, one per delta (default: all 1)");
    app.add_option("--out", out_dir, "directory for the fused causal model")->required();
  }

  int run() const {
    write(alpha_vector(alpha, delta_files.size()));
    std::printf("wrote %s: the abduction of %s plus %zu deltas\n", out_dir.string().c_str(), model_dir.string().c_str(),
                delta_files.size());
    return 0;
  }

  /// Writes the fused model for the fusion weights `weights` (one per delta file).
  void write(const Vector<double>& weights) const {
    require(std::filesystem::weakly_canonical(model_dir) != std::filesystem::weakly_canonical(out_dir),
            "--out must differ from --model");
    auto head = head_of_model_directory(model_dir);
    fuse_into(head, delta_files, weights);
    std::filesystem::create_directories(out_dir);
    for (const auto& entry : std::filesystem::directory_iterator(model_dir))
      if (entry.is_regular_file() && entry.path().filename() != model::kCausalHeadFile)
        write_file_atomically(out_dir / entry.path().filename(), io::read_file(entry.path(), "model file"));
    head::save_head(head, out_dir / model::kCausalHeadFile);
  }
};

struct VerifyCommand {
  ModelOptions model;
  std::vector<std::filesystem::path> delta_files;
  std::filesystem::path data_file, csv_file, plot_file;
  std::string alpha;
  std::size_t rows = 20;

  void attach(CLI::App& app) {
    model.attach(app);
    app.add_option("--delta", delta_files, "knowledge delta file (repeat for several)")->required();
    app.add_option("--alpha", alpha, "comma-separated fusion weights, one per delta (default: all 1)");
    app.add_option("--data", data_file, "text, one document per line: the fusion is checked at every position")
        ->required();
    app.add_option("--csv", csv_file, "also write the per-position table as CSV (causalqwen plot --fusion draws it)");
    app.add_option("--plot", plot_file, "also draw the report into this SVG file (exact KL, estimate, bound)");
    app.add_option("--rows", rows, "positions to print in the table");
  }

  int run() const {
    const auto r = report(alpha_vector(alpha, delta_files.size()));
    print_report(r, rows);
    if (!csv_file.empty()) write_file_atomically(csv_file, report_csv(r));
    if (!plot_file.empty()) write_chart(fusion_chart(NumberTable(report_csv(r), "the fusion report")), plot_file);
    return r.certified() ? 0 : 3;
  }

  /// The report for the fusion weights `weights` (one per delta file).
  domain::FusionReport<double> report(const Vector<double>& weights) const {
    const Model lm = model.load();
    // The certificate is computed in double: the float head and deltas widen exactly, and their
    // checksums are taken over the widened values.
    const auto& p = lm.head().abduction().params();
    const head::AbductionParams<double> base{p.loc_weight.cast<double>(), p.loc_bias.cast<double>(),
                                             p.scale_weight.cast<double>(), p.scale_bias.cast<double>()};
    const auto deltas = load_deltas(delta_files, base);
    const RowMatrix<double> hidden =
        model::text_dataset(lm, model::read_text_lines(data_file)).hidden.cast<double>();
    return domain::fusion_report<Link>(base, std::span<const domain::KnowledgeDelta<double>>(deltas), weights,
                                       hidden);
  }
};

}  // namespace causalqwen::cli
