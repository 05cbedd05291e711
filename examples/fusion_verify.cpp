// Verifies a fusion of knowledge deltas on a set of hidden states: for every position the exact
// KL(P_base || P_fused), each domain's own KL, the design estimate (sum |alpha_j| sqrt eps_j)^2 and
// the certified bound, as a table (and optionally a CSV file). Exits with status 3 if a certified
// bound were ever below the exact KL, 1 on bad input.
//
//   fusion_verify --head base.safetensors --delta a.safetensors --delta b.safetensors
//                 --alpha 0.5,0.5 --features h.npy [--csv report.csv] [--rows 20]
//
// Without --head it runs on a built-in synthetic default: a small base head, three domains adapted
// with KL budgets 0.05, 0.2 and 1, fused with alpha = 1, on 200 fresh hidden states.
#include "cli/fusion_table.hpp"
#include "cli/program.hpp"

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace cq = causalqwen;
using cq::domain::KnowledgeDelta;
using cq::cli::parse_alpha;

namespace {

struct Options {
  std::string head, features, csv;
  std::vector<std::string> deltas;
  std::string alpha;
  std::size_t rows = 20;
  std::string save_default;
};

template <class Link, class Thresholds>
cq::domain::FusionReport<double> report_from_files(const Options& o) {
  const auto head = cq::head::load_head<double, Link, Thresholds>(o.head);
  std::vector<KnowledgeDelta<double>> deltas;
  for (const auto& file : o.deltas) {
    deltas.push_back(cq::domain::load_delta<double>(file, std::pair{head.hidden_size(), head.latent_size()}));
    cq::domain::require_matches<Link>(deltas.back(), head.abduction().params(), file);
  }
  const auto a = parse_alpha(o.alpha, deltas.size());
  const cq::Vector<double> alpha = Eigen::Map<const cq::Vector<double>>(a.data(), static_cast<Eigen::Index>(a.size()));
  const auto hidden = cq::domain::load_features<double>(o.features, head.hidden_size());
  return cq::domain::fusion_report<Link>(head.abduction().params(), std::span<const KnowledgeDelta<double>>(deltas),
                                         alpha, hidden);
}

template <class Link>
cq::domain::FusionReport<double> dispatch_thresholds(const Options& o, const std::string& thresholds) {
  if (thresholds == cq::head::LearnedThresholds::name()) return report_from_files<Link, cq::head::LearnedThresholds>(o);
  if (thresholds == cq::head::ZeroThresholds::name()) return report_from_files<Link, cq::head::ZeroThresholds>(o);
  cq::fail(o.head, ": unknown threshold policy '", thresholds, "'");
}

cq::domain::FusionReport<double> report_from_files(const Options& o) {
  cq::require(!o.deltas.empty(), "--head needs at least one --delta");
  cq::require(!o.features.empty(), "--head needs --features (an [N x H] .npy file)");
  const cq::io::SafetensorsReader reader(o.head);
  const auto field = [&](const std::string& key) {
    const auto found = reader.metadata().find(key);
    cq::require(found != reader.metadata().end(), o.head, ": not a causal head checkpoint (no '", key, "')");
    return found->second;
  };
  const std::string link = field("scale_link"), thresholds = field("thresholds");
  if (link == cq::head::ExpLink::name()) return dispatch_thresholds<cq::head::ExpLink>(o, thresholds);
  if (link == cq::head::IdentityLink::name()) return dispatch_thresholds<cq::head::IdentityLink>(o, thresholds);
  if (link == cq::head::SoftplusLink::name()) return dispatch_thresholds<cq::head::SoftplusLink>(o, thresholds);
  cq::fail(o.head, ": unknown scale link '", link, "'");
}

/// The built-in default: a small synthetic base task and three domains adapted under KL budgets.
cq::domain::FusionReport<double> synthetic_report(const std::string& save_dir) {
  cq::train::SyntheticConfig<double> config;
  config.hidden = 16;
  config.latent = 4;
  config.classes = 8;
  config.seed = 3;
  const cq::train::SyntheticTask<double> task(config);
  auto base = task.ground_truth();
  base.set_noise_settings({cq::head::InferenceMode::standard, 1.0});
  const auto w0 = base.abduction().params();
  std::vector<KnowledgeDelta<double>> deltas;
  const double budgets[] = {0.05, 0.2, 1.0};
  std::mt19937_64 rng(17);
  std::normal_distribution<double> normal(0, 1);
  for (int j = 0; j < 3; ++j) {
    auto truth = w0;
    for (Eigen::Index i = 0; i < truth.loc_weight.size(); ++i) truth.loc_weight.data()[i] += 0.3 * normal(rng);
    truth.scale_bias.array() += 0.5 * (j - 1);
    const auto data = task.with_abduction(truth).sample(400, 100 + static_cast<std::uint64_t>(j));
    cq::domain::AdaptationOptions<double> o;
    o.epochs = 4;
    o.batch_size = 50;
    o.optimizer.learning_rate = 0.02;
    o.kl_budget = budgets[j];
    o.seed = static_cast<std::uint64_t>(j);
    const auto r = cq::domain::adapt_abduction(base, data, o);
    deltas.push_back(cq::domain::make_delta<cq::head::ExpLink>("synthetic-" + std::to_string(j), w0, r.adapted,
                                                               r.mean_kl, r.max_kl, r.kl_weight));
  }
  const cq::Vector<double> alpha = cq::Vector<double>::Ones(3);
  const auto hidden = task.sample(200, 999).hidden;
  if (!save_dir.empty()) {
    const std::filesystem::path dir(save_dir);
    std::filesystem::create_directories(dir);
    cq::head::save_head(base, dir / "base_head.safetensors");
    for (std::size_t j = 0; j < deltas.size(); ++j)
      cq::domain::save_delta(deltas[j], dir / ("delta_" + std::to_string(j + 1) + ".safetensors"));
    cq::domain::save_features(dir / "features.npy", hidden);
  }
  return cq::domain::fusion_report<cq::head::ExpLink>(w0, std::span<const KnowledgeDelta<double>>(deltas), alpha,
                                                      hidden);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Per-position check of a fusion of knowledge deltas against its certified KL bound"};
  Options o;
  app.add_option("--head", o.head, "base causal head (safetensors); without it a synthetic default runs");
  app.add_option("--delta", o.deltas, "knowledge delta file (repeat for several)");
  app.add_option("--alpha", o.alpha, "comma-separated fusion weights, one per delta (default: all 1)");
  app.add_option("--features", o.features, "hidden states, an [N x H] float32/float64 .npy file");
  app.add_option("--csv", o.csv, "also write the per-position table as CSV (atomically)");
  app.add_option("--rows", o.rows, "positions to print in the table");
  app.add_option("--save-default", o.save_default,
                 "synthetic default only: also save its base head, deltas and features into this folder");
  return causalqwen::programs::run_program("fusion_verify", app, argc, argv, [&] {
    if (o.head.empty())
      cq::require(o.deltas.empty() && o.features.empty() && o.alpha.empty(),
                  "--delta, --alpha and --features need --head");
    cq::require(o.save_default.empty() || o.head.empty(), "--save-default applies to the synthetic default only");
    const auto report = o.head.empty() ? synthetic_report(o.save_default) : report_from_files(o);
    cq::cli::print_report(report, o.rows);
    if (!o.csv.empty()) cq::write_file_atomically(o.csv, cq::cli::report_csv(report));
    return report.certified() ? 0 : 3;
  });
}
