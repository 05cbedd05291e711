#pragma once
// What a training run records per step, and its CSV form. The log file is replaced atomically
// (core/atomic_file.hpp), so a crash leaves the last complete log, never a torn line.

#include <causalqwen/core/atomic_file.hpp>

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace causalqwen::train {

/// One optimiser step. The step fills the loss, accuracy, gradient and position fields; the loop
/// fills step, epoch, seconds and held_out_loss.
struct TrainingRecord {
  std::size_t step = 0;      ///< 1 for the first step of a run (a resumed run continues the count)
  std::size_t epoch = 0;     ///< completed passes' worth of positions before this step
  double loss = 0;
  double classification = 0;
  double regression = 0;
  double accuracy = 0;       ///< of the batch, before the update
  double gradient_norm = 0;  ///< before clipping
  double seconds = 0;        ///< since the start of this call
  std::size_t positions = 0; ///< non-ignored positions of the batch
  double learning_rate = 0;  ///< after the schedule
  double held_out_loss = std::numeric_limits<double>::quiet_NaN();  ///< NaN: not evaluated at this step
};

struct TrainingReport {
  std::vector<TrainingRecord> log;  ///< the steps run by this call
  std::size_t steps = 0;
  std::size_t samples = 0;          ///< non-ignored positions seen
  double seconds = 0;
  double samples_per_second() const { return seconds > 0 ? double(samples) / seconds : 0.0; }
};

/// The log as CSV with a header line; a step without evaluation has an empty held_out_loss.
inline std::string training_csv(const std::vector<TrainingRecord>& log) {
  std::ostringstream out;
  out.precision(9);
  out << "step,epoch,loss,classification,regression,accuracy,gradient_norm,seconds,learning_rate,held_out_loss\n";
  for (const auto& r : log) {
    out << r.step << ',' << r.epoch << ',' << r.loss << ',' << r.classification << ',' << r.regression << ','
        << r.accuracy << ',' << r.gradient_norm << ',' << r.seconds << ',' << r.learning_rate << ',';
    if (!std::isnan(r.held_out_loss)) out << r.held_out_loss;
    out << '\n';
  }
  return out.str();
}

/// Replaces `path` with training_csv(log) atomically.
inline void write_training_log(const std::filesystem::path& path, const std::vector<TrainingRecord>& log) {
  write_file_atomically(path, training_csv(log));
}

}  // namespace causalqwen::train
