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
#include "program.hpp"

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <span>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace cq = causalqwen;
using cq::domain::KnowledgeDelta;

namespace {

struct Options {
  std::string head, features, csv;
  std::vector<std::string> deltas;
  std::string alpha;
  std::size_t rows = 20;
  std::string save_default;
};

std::string number(const cq::FusionResult<double>& r) {
  if (!r) return "n/a";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", r.value());
  return buffer;
}

std::string csv_number(const cq::FusionResult<double>& r) {
  if (!r) return "";
  std::ostringstream out;
  out.precision(17);
  out << r.value();
  return out.str();
}

cq::FusionResult<double> bound_value(const cq::domain::PositionFusion<double>& p) {
  return p.bound ? cq::FusionResult<double>::with_value(p.bound.value().value)
                 : cq::FusionResult<double>::without_value(p.bound.reason());
}

void print_report(const cq::domain::FusionReport<double>& r, std::size_t rows) {
  std::printf("scale link: %s   deltas:", r.scale_link.c_str());
  for (std::size_t j = 0; j < r.domains.size(); ++j)
    std::printf(" #%zu %s (alpha %g)", j + 1, r.domains[j].c_str(), r.alpha(static_cast<Eigen::Index>(j)));
  std::printf("\n\n%8s %11s", "position", "exact KL");
  for (std::size_t j = 0; j < r.domains.size(); ++j) std::printf(" %11s", ("KL #" + std::to_string(j + 1)).c_str());
  std::printf(" %11s %11s %8s  %s\n", "design est.", "certified", "ratio", "flags");
  std::map<std::string, std::size_t> reasons;
  for (std::size_t i = 0; i < r.positions.size(); ++i) {
    const auto& p = r.positions[i];
    if (!p.bound) ++reasons[p.bound.reason()];
    if (i >= rows) continue;
    std::printf("%8zu %11s", i, number(p.exact_kl).c_str());
    for (const auto& d : p.domain_kl) std::printf(" %11s", number(d).c_str());
    std::string ratio = "n/a";
    if (p.exact_kl && p.bound && p.bound.value().value > 0) {
      char buffer[16];
      std::snprintf(buffer, sizeof buffer, "%.3f", p.exact_kl.value() / p.bound.value().value);
      ratio = buffer;
    }
    std::string flags;
    if (p.fused_scale_not_positive) flags += "fused-scale<=0 ";
    if (p.exact_kl && p.design_estimate && p.exact_kl.value() > p.design_estimate.value()) flags += "above-estimate ";
    if (p.bound_violated) flags += "BOUND-VIOLATED";
    std::printf(" %11s %11s %8s  %s\n", number(p.design_estimate).c_str(), number(bound_value(p)).c_str(),
                ratio.c_str(), flags.c_str());
  }
  if (r.positions.size() > rows) std::printf("%8s (%zu more positions; --rows to show them)\n", "...", r.positions.size() - rows);
  const auto& s = r.summary;
  std::printf("\npositions %zu: fused law exists at %zu, certified bound at %zu, fused scale <= 0 at %zu\n", s.positions,
              s.with_exact_kl, s.with_bound, s.scale_not_positive);
  std::printf("exact KL: mean %.4g, max %.4g   design estimate: mean %.4g (exceeded by the exact KL at %zu positions)\n",
              s.mean_exact_kl, s.max_exact_kl, s.mean_design_estimate, s.estimate_exceeded);
  for (std::size_t j = 0; j < r.domains.size(); ++j)
    std::printf("domain %s: mean KL %.4g, max %.4g\n", r.domains[j].c_str(), s.mean_domain_kl[j], s.max_domain_kl[j]);
  std::printf("certified bound: mean %.4g, max exact/bound %.4f\n", s.mean_bound, s.max_bound_ratio);
  for (const auto& [reason, count] : reasons) std::printf("no bound at %zu positions: %s\n", count, reason.c_str());
  std::printf("%s: %zu violations of the certified bound\n", r.certified() ? "CERTIFIED" : "VIOLATED", s.violations);
}

std::string report_csv(const cq::domain::FusionReport<double>& r) {
  std::ostringstream out;
  out << "position,exact_kl";
  for (const auto& d : r.domains) out << ",kl_" << d;
  out << ",design_estimate,certified_bound,method,fused_scale_not_positive,bound_violated\n";
  for (std::size_t i = 0; i < r.positions.size(); ++i) {
    const auto& p = r.positions[i];
    out << i << ',' << csv_number(p.exact_kl);
    for (const auto& d : p.domain_kl) out << ',' << csv_number(d);
    out << ',' << csv_number(p.design_estimate) << ',' << csv_number(bound_value(p)) << ','
        << (p.bound ? cq::to_string(p.bound.value().method) : "") << ',' << (p.fused_scale_not_positive ? 1 : 0) << ','
        << (p.bound_violated ? 1 : 0) << '\n';
  }
  return out.str();
}

std::vector<double> parse_alpha(const std::string& text, std::size_t count) {
  if (text.empty()) return std::vector<double>(count, 1.0);
  std::vector<double> out;
  for (const auto& field : CLI::detail::split(text, ',')) {
    double v = 0;
    const auto [end, status] = std::from_chars(field.data(), field.data() + field.size(), v);
    cq::require(status == std::errc{} && end == field.data() + field.size() && !field.empty() && std::isfinite(v),
                "--alpha: '", field, "' is not a number");
    out.push_back(v);
  }
  cq::require(out.size() == count, "--alpha has ", out.size(), " weights for ", count, " deltas");
  return out;
}

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
    print_report(report, o.rows);
    if (!o.csv.empty()) cq::write_file_atomically(o.csv, report_csv(report));
    return report.certified() ? 0 : 3;
  });
}
