#pragma once
// `causalqwen plot`: self-contained SVG pictures of
//  --log FILE.csv       training and validation loss against the step (train's --log);
//  --fusion FILE.csv    a fusion report (verify's --csv): exact KL, design estimate and certified
//                       bound per position, positions sorted by exact KL;
//  --calibration        coverage of the Cauchy intervals against their level on numeric prompts
//                       (--prompts FILE.jsonl, the model of --model);
//  --density LOC,SCALE  a predicted number's Cauchy density with its central interval (--level).
// `train --plot`, `verify --plot` and `eval --plot` draw the first three as they finish.

#include "cli/model_options.hpp"
#include "cli/svg.hpp"
#include "cli/text_fields.hpp"

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <numbers>
#include <numeric>
#include <string>
#include <system_error>
#include <vector>

namespace causalqwen::cli {

/// A CSV file with a header row whose columns are read as numbers by name (other columns may hold
/// text); an empty field (or "nan") is NaN.
class NumberTable {
 public:
  explicit NumberTable(const std::filesystem::path& file) : NumberTable(io::read_file(file, "CSV file"), file.string()) {}

  /// The CSV `text`; `where` names it in errors.
  NumberTable(const std::string& text, std::string where) : where_(std::move(where)) {
    std::size_t line_number = 0;
    for (std::size_t start = 0; start < text.size();) {
      std::size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      std::string line = text.substr(start, end - start);
      start = end + 1;
      ++line_number;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      const std::vector<std::string> fields = split_fields(line);
      if (names_.empty()) {
        names_ = fields;
        columns_.resize(names_.size());
        continue;
      }
      require(fields.size() == names_.size(), where_, ": line ", line_number, " has ", fields.size(), " fields, the header ",
              names_.size());
      for (std::size_t c = 0; c < fields.size(); ++c) columns_[c].push_back({fields[c], line_number});
    }
    require(!names_.empty(), where_, ": empty CSV file");
    require(!columns_.front().empty(), where_, ": no rows below the header");
  }

  std::vector<double> column(const std::string& name) const {
    const auto found = std::find(names_.begin(), names_.end(), name);
    require(found != names_.end(), where_, ": no column '", name, "'");
    std::vector<double> values;
    for (const Field& f : columns_[static_cast<std::size_t>(found - names_.begin())]) {
      if (f.text.empty() || f.text == "nan" || f.text == "-nan") {
        values.push_back(std::numeric_limits<double>::quiet_NaN());
        continue;
      }
      double v = 0;
      const auto [end, status] = std::from_chars(f.text.data(), f.text.data() + f.text.size(), v);
      require(status == std::errc{} && end == f.text.data() + f.text.size(), where_, ": line ", f.line, ", column '",
              name, "': '", f.text, "' is not a number");
      values.push_back(v);
    }
    return values;
  }

 private:
  struct Field {
    std::string text;
    std::size_t line;
  };
  std::string where_;
  std::vector<std::string> names_;
  std::vector<std::vector<Field>> columns_;
};

inline Chart loss_chart(const NumberTable& t) {
  Chart c{.title = "Training loss", .x_label = "step", .y_label = "loss"};
  const std::vector<double> step = t.column("step"), held_out = t.column("held_out_loss");
  c.series.push_back({"training", step, t.column("loss")});
  if (std::any_of(held_out.begin(), held_out.end(), [](double v) { return std::isfinite(v); })) {
    // The validation loss is logged at some steps only; its line joins those.
    Series s{"validation", {}, {}, "#d62728"};
    for (std::size_t i = 0; i < held_out.size(); ++i)
      if (std::isfinite(held_out[i])) s.x.push_back(step[i]), s.y.push_back(held_out[i]);
    c.series.push_back(std::move(s));
  }
  c.log_y = std::all_of(c.series.front().y.begin(), c.series.front().y.end(), [](double v) { return !(v <= 0); });
  return c;
}

inline Chart fusion_chart(const NumberTable& t) {
  const std::vector<double> exact = t.column("exact_kl");
  std::vector<std::size_t> order(exact.size());
  std::iota(order.begin(), order.end(), std::size_t(0));
  // NaN (no fused law) sorts last, so the drawn curves stay monotone in the exact KL.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::isnan(exact[b]) ? !std::isnan(exact[a]) : exact[a] < exact[b];
  });
  Chart c{.title = "Fusion: exact KL against its certificate",
          .x_label = "position (sorted by exact KL)",
          .y_label = "KL(P_base || P_fused)",
          .log_y = true};
  const auto sorted = [&](const std::string& column, std::string name, std::string color, bool dashed) {
    Series s{std::move(name), {}, {}, std::move(color), dashed};
    const std::vector<double> v = t.column(column);
    for (std::size_t i = 0; i < order.size(); ++i) s.x.push_back(double(i)), s.y.push_back(v[order[i]]);
    c.series.push_back(std::move(s));
  };
  sorted("exact_kl", "exact KL", "#1f77b4", false);
  sorted("design_estimate", "design estimate", "#ff7f0e", true);
  sorted("certified_bound", "certified bound", "#2ca02c", false);
  return c;
}

/// The interval levels a calibration chart shows: 5 %, 10 %, ..., 95 % (i / 20 is exactly the
/// double of the decimal, so 0.5 and 0.9 are among them).
inline std::vector<double> calibration_levels() {
  std::vector<double> levels;
  for (int i = 1; i <= 19; ++i) levels.push_back(i / 20.0);
  return levels;
}

/// Coverage against level; `e` must have been evaluated at calibration_levels().
inline Chart calibration_chart(const model::NumberEvaluation& e, const std::filesystem::path& prompts_file) {
  require(e.answered > 0, prompts_file.string(), ": no prompt was answered with a number; nothing to calibrate");
  Chart c{.title = "Calibration of the Cauchy intervals (" + std::to_string(e.answered) + " answers)",
          .x_label = "interval level",
          .y_label = "fraction of true values inside"};
  Series observed{"observed", calibration_levels(), {}};
  for (const double level : observed.x) observed.y.push_back(e.coverage_at(level));
  c.series.push_back(std::move(observed));
  c.series.push_back({"ideal", {0, 1}, {0, 1}, "#7f7f7f", true});
  return c;
}

inline Chart density_chart(double loc, double scale, double level) {
  require(std::isfinite(loc) && std::isfinite(scale) && scale > 0, "--density: needs a finite location and a scale > 0, got ",
          loc, ", ", scale);
  require(level > 0 && level < 1, "--level must lie strictly between 0 and 1, got ", level);
  const auto interval = model::central_interval(loc, scale, level);
  Chart c{.title = "Cauchy(" + svg::number(loc) + ", " + svg::number(scale) + ")", .x_label = "value", .y_label = "density"};
  Series s{"density", {}, {}};
  const double half = std::max(8.0, 1.5 * (interval.high - loc) / scale) * scale;
  for (int i = 0; i <= 400; ++i) {
    const double x = loc - half + 2 * half * i / 400.0, z = (x - loc) / scale;
    s.x.push_back(x);
    s.y.push_back(1 / (std::numbers::pi * scale * (1 + z * z)));
  }
  c.series.push_back(std::move(s));
  c.band_low = interval.low, c.band_high = interval.high;
  c.band_label = svg::number(100 * level) + " % interval";
  return c;
}

inline void write_chart(const Chart& chart, const std::filesystem::path& file) {
  write_file_atomically(file, render_svg(chart));
  std::printf("wrote %s (%s)\n", file.string().c_str(), chart.title.c_str());
}

struct PlotCommand {
  ModelOptions model;
  std::filesystem::path log_file, fusion_file, prompts_file, out_file;
  bool calibration = false;
  std::vector<double> density;
  double level = 0.9;

  void attach(CLI::App& app) {
    auto* log = app.add_option("--log", log_file, "training log CSV (train --log)");
    auto* fusion = app.add_option("--fusion", fusion_file, "fusion report CSV (verify --csv)");
    auto* calib = app.add_flag("--calibration", calibration, "interval coverage against level on --prompts");
    auto* dens = app.add_option("--density", density, "a number's Cauchy location and scale: LOC,SCALE")
                     ->expected(2)
                     ->delimiter(',');
    log->excludes(fusion, calib, dens);
    fusion->excludes(calib, dens);
    calib->excludes(dens);
    model.attach(app);
    app.add_option("--prompts", prompts_file, "numeric prompts JSONL (--calibration)");
    app.add_option("--level", level, "level of the density's shaded central interval")->capture_default_str();
    app.add_option("--out", out_file, "SVG file to write")->required();
  }

  int run() const {
    const Chart chart = [&] {
      if (!log_file.empty()) return loss_chart(NumberTable(log_file));
      if (!fusion_file.empty()) return fusion_chart(NumberTable(fusion_file));
      if (!density.empty()) return density_chart(density[0], density[1], level);
      require(calibration, "say what to draw: --log, --fusion, --calibration or --density");
      require(!prompts_file.empty(), "--calibration needs --prompts FILE.jsonl");
      const auto e = model::evaluate_numbers(model.load(), model::read_number_prompts(prompts_file),
                                             {.levels = calibration_levels()});
      return calibration_chart(e, prompts_file);
    }();
    write_chart(chart, out_file);
    return 0;
  }
};

}  // namespace causalqwen::cli
