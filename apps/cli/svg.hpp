#pragma once
// Self-contained SVG line charts (no script, no external font or style): axes with round ticks,
// a linear or logarithmic y axis, several series with a legend, an optional shaded x band. Enough
// for loss curves, fusion reports, calibration and densities, readable in any browser.

#include <causalqwen/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace causalqwen::cli {

struct Series {
  std::string name = {};
  std::vector<double> x = {}, y = {};
  std::string color = "#1f77b4";
  bool dashed = false;
};

struct Chart {
  std::string title = {}, x_label = {}, y_label = {};
  bool log_y = false;
  std::vector<Series> series = {};
  double band_low = std::numeric_limits<double>::quiet_NaN();  ///< shaded x range (NaN: none)
  double band_high = std::numeric_limits<double>::quiet_NaN();
  std::string band_label = {};
};

namespace svg {

inline std::string escaped(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

inline std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", v);
  return buffer;
}

/// About `count` round tick values (1, 2 or 5 times a power of ten apart) covering [low, high];
/// with `whole` the step is at least 1 (decades on a log axis).
inline std::vector<double> ticks(double low, double high, bool whole = false, int count = 6) {
  const double raw = (high - low) / count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power * (raw / power < 1.5 ? 1 : raw / power < 3.5 ? 2 : raw / power < 7.5 ? 5 : 10);
  if (whole) step = std::max(1.0, std::round(step));
  std::vector<double> out;
  for (double t = std::ceil(low / step) * step; t <= high + step * 1e-9; t += step) out.push_back(std::abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

}  // namespace svg

/// The chart as an SVG document. Non-finite points (and y <= 0 on a log axis) are left out; a
/// chart with no point left is refused.
inline std::string render_svg(const Chart& chart) {
  constexpr double width = 720, height = 440, left = 80, right = 190, top = 40, bottom = 60;
  const auto y_of = [&](double y) { return chart.log_y ? std::log10(y) : y; };
  const auto usable = [&](double x, double y) { return std::isfinite(x) && std::isfinite(y) && (!chart.log_y || y > 0); };
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const Series& s : chart.series) {
    require(s.x.size() == s.y.size(), "plot: series '", s.name, "' has ", s.x.size(), " x and ", s.y.size(), " y values");
    for (std::size_t i = 0; i < s.x.size(); ++i)
      if (usable(s.x[i], s.y[i])) {
        x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
        y0 = std::min(y0, y_of(s.y[i])), y1 = std::max(y1, y_of(s.y[i]));
      }
  }
  require(x0 <= x1, "plot '", chart.title, "': no finite point to draw");
  if (x0 == x1) x0 -= 0.5, x1 += 0.5;
  if (y0 == y1) y0 -= 0.5, y1 += 0.5;
  const double pad = 0.04 * (y1 - y0);
  y0 -= pad, y1 += pad;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  const auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * plot_w; };
  const auto py = [&](double y) { return top + (y1 - y) / (y1 - y0) * plot_h; };

  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    svg::number(width) + "\" height=\"" + svg::number(height) + "\" viewBox=\"0 0 " +
                    svg::number(width) + " " + svg::number(height) +
                    "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  const auto text = [&](double x, double y, const std::string& s, const char* anchor, const std::string& extra = "") {
    out += "<text x=\"" + svg::number(x) + "\" y=\"" + svg::number(y) + "\" text-anchor=\"" + anchor + "\"" + extra +
           ">" + svg::escaped(s) + "</text>\n";
  };
  text(width / 2, 22, chart.title, "middle", " font-size=\"15\"");
  if (std::isfinite(chart.band_low) && std::isfinite(chart.band_high)) {
    const double a = px(std::clamp(chart.band_low, x0, x1)), b = px(std::clamp(chart.band_high, x0, x1));
    out += "<rect x=\"" + svg::number(a) + "\" y=\"" + svg::number(top) + "\" width=\"" + svg::number(b - a) +
           "\" height=\"" + svg::number(plot_h) + "\" fill=\"#1f77b4\" fill-opacity=\"0.15\"/>\n";
  }
  for (const double t : svg::ticks(x0, x1)) {
    out += "<line x1=\"" + svg::number(px(t)) + "\" y1=\"" + svg::number(top) + "\" x2=\"" + svg::number(px(t)) +
           "\" y2=\"" + svg::number(top + plot_h) + "\" stroke=\"#e5e5e5\"/>\n";
    text(px(t), top + plot_h + 18, svg::number(t), "middle");
  }
  for (const double t : svg::ticks(y0, y1, chart.log_y)) {
    out += "<line x1=\"" + svg::number(left) + "\" y1=\"" + svg::number(py(t)) + "\" x2=\"" + svg::number(left + plot_w) +
           "\" y2=\"" + svg::number(py(t)) + "\" stroke=\"#e5e5e5\"/>\n";
    text(left - 8, py(t) + 4, chart.log_y ? svg::number(std::pow(10.0, t)) : svg::number(t), "end");
  }
  out += "<rect x=\"" + svg::number(left) + "\" y=\"" + svg::number(top) + "\" width=\"" + svg::number(plot_w) +
         "\" height=\"" + svg::number(plot_h) + "\" fill=\"none\" stroke=\"#333\"/>\n";
  text(left + plot_w / 2, height - 16, chart.x_label, "middle");
  text(18, top + plot_h / 2, chart.y_label + (chart.log_y ? " (log scale)" : ""), "middle",
       " transform=\"rotate(-90 18 " + svg::number(top + plot_h / 2) + ")\"");
  double legend_y = top + 10;
  for (const Series& s : chart.series) {
    std::string points;
    for (std::size_t i = 0; i < s.x.size(); ++i)
      if (usable(s.x[i], s.y[i])) points += svg::number(px(s.x[i])) + "," + svg::number(py(y_of(s.y[i]))) + " ";
    const std::string dash = s.dashed ? " stroke-dasharray=\"6 4\"" : "";
    out += "<polyline fill=\"none\" stroke=\"" + s.color + "\" stroke-width=\"1.6\"" + dash + " points=\"" + points +
           "\"/>\n";
    out += "<line x1=\"" + svg::number(width - right + 14) + "\" y1=\"" + svg::number(legend_y) + "\" x2=\"" +
           svg::number(width - right + 38) + "\" y2=\"" + svg::number(legend_y) + "\" stroke=\"" + s.color +
           "\" stroke-width=\"2\"" + dash + "/>\n";
    text(width - right + 44, legend_y + 4, s.name, "start");
    legend_y += 20;
  }
  if (!chart.band_label.empty()) text(width - right + 14, legend_y + 4, chart.band_label, "start", " fill=\"#1f77b4\"");
  return out + "</svg>\n";
}

}  // namespace causalqwen::cli
