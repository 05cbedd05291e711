#pragma once
// A one-line progress bar for a training run: step, loss, throughput (samples or tokens per
// second) and the estimated time left, redrawn in place. It redraws at most every
// `min_interval` seconds (and always on the last step): a head the size of an lm_head takes
// seconds per step and a tiny one microseconds, so a fixed step interval suits neither.

#include <causalqwen/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>
#include <utility>

namespace causalqwen::train {

/// "1:02:03" or "2:03".
inline std::string format_duration(double seconds) {
  const auto total = static_cast<long long>(std::isfinite(seconds) && seconds > 0 ? seconds + 0.5 : 0);
  const long long h = total / 3600, m = total / 60 % 60, s = total % 60;
  char text[32];
  if (h > 0)
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", h, m, s);
  else
    std::snprintf(text, sizeof text, "%lld:%02lld", m, s);
  return text;
}

/// The bar's text for `step` of `last_step` (no carriage return). `rate` is in `unit` per
/// second; `held_out_loss` is left out when NaN.
inline std::string progress_line(std::size_t step, std::size_t last_step, double loss, double rate,
                                 const std::string& unit, double eta_seconds, double held_out_loss) {
  constexpr std::size_t width = 28;
  const std::size_t filled = last_step ? std::min(step, last_step) * width / last_step : width;
  std::string bar(filled, '=');
  if (filled < width) bar += '>' + std::string(width - filled - 1, ' ');
  char text[160];
  std::snprintf(text, sizeof text, "[%s] step %zu/%zu  loss %.4f", bar.c_str(), step, last_step, loss);
  std::string line = text;
  if (!std::isnan(held_out_loss)) {
    std::snprintf(text, sizeof text, "  held-out %.4f", held_out_loss);
    line += text;
  }
  std::snprintf(text, sizeof text, "  %.0f %s/s  ETA %s", rate, unit.c_str(), format_duration(eta_seconds).c_str());
  return line + text;
}

class ProgressBar {
 public:
  /// A run from `first_step` (the steps already done) to `last_step`.
  ProgressBar(std::size_t first_step, std::size_t last_step, std::string unit = "samples", std::FILE* out = stderr,
              double min_interval = 0.2)
      : first_(first_step), last_(last_step), unit_(std::move(unit)), out_(out), min_interval_(min_interval) {
    require(first_step <= last_step, "ProgressBar: first step ", first_step, " is past the last step ", last_step);
  }

  /// After `step`: `items` (samples or tokens) were processed in `seconds` since first_step.
  void update(std::size_t step, double loss, std::size_t items, double seconds,
              double held_out_loss = std::nan("")) {
    if (!std::isnan(held_out_loss)) held_out_ = held_out_loss;
    if (step < last_ && seconds - drawn_at_ < min_interval_) return;
    drawn_at_ = seconds;
    const double done = double(step - first_);
    const double eta = done > 0 ? seconds / done * double(last_ - step) : 0.0;
    const double rate = seconds > 0 ? double(items) / seconds : 0.0;
    std::fprintf(out_, "\r%s ", progress_line(step, last_, loss, rate, unit_, eta, held_out_).c_str());
    std::fflush(out_);
    drawn_ = true;
  }

  /// Ends the line (once something was drawn).
  void finish() {
    if (drawn_) std::fputc('\n', out_);
    drawn_ = false;
  }

 private:
  std::size_t first_, last_;
  std::string unit_;
  std::FILE* out_;
  double min_interval_;
  double drawn_at_ = -1e300;
  double held_out_ = std::nan("");
  bool drawn_ = false;
};

}  // namespace causalqwen::train
