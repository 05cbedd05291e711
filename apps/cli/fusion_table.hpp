#pragma once
// The per-position fusion report as people read it: a table on stdout (the first rows, then the
// summary and why a bound is missing where it is), as CSV (`causalqwen plot --fusion` draws it),
// and the --alpha list both fusion_verify and `causalqwen fuse/verify` take.

#include "cli/text_fields.hpp"

#include <causalqwen/causalqwen.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace causalqwen::cli {

inline std::string number(const FusionResult<double>& r) {
  if (!r) return "n/a";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", r.value());
  return buffer;
}

inline std::string csv_number(const FusionResult<double>& r) {
  if (!r) return "";
  std::ostringstream out;
  out.precision(17);
  out << r.value();
  return out.str();
}

inline FusionResult<double> bound_value(const domain::PositionFusion<double>& p) {
  return p.bound ? FusionResult<double>::with_value(p.bound.value().value)
                 : FusionResult<double>::without_value(p.bound.reason());
}

inline void print_report(const domain::FusionReport<double>& r, std::size_t rows) {
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

inline std::string report_csv(const domain::FusionReport<double>& r) {
  std::ostringstream out;
  out << "position,exact_kl";
  for (const auto& d : r.domains) out << ",kl_" << d;
  out << ",design_estimate,certified_bound,method,fused_scale_not_positive,bound_violated\n";
  for (std::size_t i = 0; i < r.positions.size(); ++i) {
    const auto& p = r.positions[i];
    out << i << ',' << csv_number(p.exact_kl);
    for (const auto& d : p.domain_kl) out << ',' << csv_number(d);
    out << ',' << csv_number(p.design_estimate) << ',' << csv_number(bound_value(p)) << ','
        << (p.bound ? to_string(p.bound.value().method) : "") << ',' << (p.fused_scale_not_positive ? 1 : 0) << ','
        << (p.bound_violated ? 1 : 0) << '\n';
  }
  return out.str();
}

inline std::vector<double> parse_alpha(const std::string& text, std::size_t count) {
  if (text.empty()) return std::vector<double>(count, 1.0);
  std::vector<double> out;
  for (const auto& field : split_fields(text)) {
    double v = 0;
    const auto [end, status] = std::from_chars(field.data(), field.data() + field.size(), v);
    require(status == std::errc{} && end == field.data() + field.size() && !field.empty() && std::isfinite(v),
                "--alpha: '", field, "' is not a number");
    out.push_back(v);
  }
  require(out.size() == count, "--alpha has ", out.size(), " weights for ", count, " deltas");
  return out;
}

}  // namespace causalqwen::cli
