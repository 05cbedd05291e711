#pragma once
// Text with numbers as training data for the head. A line is encoded with every number as <NUM>
// (its value kept), and <|endoftext|> is appended when the tokenizer has it, so the model also
// learns where a line ends. Position t's input is tokens[0..t] (with values) and its target is
// tokens[t+1] (class = token id, <NUM> = the model's num_token()) with, at <NUM>, the value.
// The backbone is frozen: the hidden states of every line are computed once and kept as a
// train::Dataset, so training the head never runs the backbone again.

#include <causalqwen/backbone/backbone.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/tokenizer/numbers.hpp>
#include <causalqwen/tokenizer/utf8.hpp>
#include <causalqwen/train/dataset.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace causalqwen::model {

/// The non-empty lines of a UTF-8 text file ("\r\n" endings accepted). A file that cannot be
/// read, holds no text or a line that is not valid UTF-8 -> causalqwen::error naming it.
inline std::vector<std::string> read_text_lines(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  require(in.good(), "cannot open text file ", file.string());
  std::vector<std::string> lines;
  std::size_t line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t bad = utf8::first_invalid(line);
    require(bad == line.size(), file.string(), ": line ", line_number, " is not valid UTF-8 (byte ", bad + 1, ")");
    if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(std::move(line));
  }
  require(!in.bad(), "error while reading ", file.string());
  require(!lines.empty(), file.string(), " holds no text lines");
  return lines;
}

/// `count` templated English sentences with numbers (prices, ages, temperatures, distances,
/// counts, years, percentages), deterministic for `seed`.
inline std::vector<std::string> templated_sentences(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const auto uniform = [&](double low, double high) { return std::uniform_real_distribution<double>(low, high)(rng); };
  const auto integer = [&](int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng); };
  const auto fixed = [](double v, int decimals) {
    std::ostringstream out;
    out.setf(std::ios::fixed);
    out.precision(decimals);
    out << v;
    return out.str();
  };
  static constexpr const char* items[] = {"book", "coffee", "ticket", "shirt", "lamp", "bike"};
  static constexpr const char* names[] = {"Alice", "Bob", "Chen", "Dana", "Emil", "Fatima"};
  static constexpr const char* cities[] = {"Paris", "Tokyo", "Lima", "Oslo", "Cairo", "Seoul"};
  std::vector<std::string> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::string item = items[integer(0, 5)], name = names[integer(0, 5)], city = cities[integer(0, 5)];
    switch (i % 8) {
      case 0: out.push_back("The price of the " + item + " is " + fixed(uniform(2, 99), 2) + " dollars."); break;
      case 1: out.push_back(name + " is " + std::to_string(integer(18, 80)) + " years old."); break;
      case 2: out.push_back("The temperature in " + city + " is " + fixed(uniform(-10, 35), 1) + " degrees."); break;
      case 3: out.push_back("The distance to " + city + " is " + std::to_string(integer(5, 900)) + " kilometers."); break;
      case 4: out.push_back(name + " bought " + std::to_string(integer(2, 12)) + " apples for " + fixed(uniform(1, 20), 2) + " dollars."); break;
      case 5: out.push_back("In " + std::to_string(integer(1990, 2024)) + " the town had " + std::to_string(integer(1000, 90000)) + " people."); break;
      case 6: out.push_back("The " + item + " is " + std::to_string(integer(5, 60)) + " percent cheaper in " + city + "."); break;
      default: out.push_back("The train to " + city + " takes " + std::to_string(integer(20, 300)) + " minutes."); break;
    }
  }
  return out;
}

/// One line as inputs and next-position targets.
struct TextSample {
  std::vector<TokenId> tokens;          ///< inputs
  std::vector<double> values;           ///< beside tokens: the <NUM> values, NaN elsewhere
  std::vector<std::int32_t> targets;    ///< the next token of each input position
  std::vector<double> target_values;    ///< the next <NUM>'s value, NaN elsewhere
};

/// The head's target value at position `i` of `s`: the value where the target is <NUM> (`num`),
/// 0 elsewhere (the loss reads it only at <NUM> targets; 0 keeps the vector finite).
template <Real T>
T head_target_value(const TextSample& s, std::size_t i, TokenId num) {
  return s.targets[i] == num ? T(s.target_values[i]) : T(0);
}

/// Encodes `line`; fewer than two tokens give an empty sample.
template <class LM>
TextSample text_sample(const LM& lm, std::string_view line) {
  NumberedText text = lm.encode(line);
  if (const auto end = lm.tokenizer().token_id("<|endoftext|>")) {
    text.ids.push_back(*end);
    text.values.push_back(std::nan(""));
  }
  TextSample s;
  if (text.ids.size() < 2) return s;
  s.tokens.assign(text.ids.begin(), text.ids.end() - 1);
  s.values.assign(text.values.begin(), text.values.end() - 1);
  s.targets.assign(text.ids.begin() + 1, text.ids.end());
  s.target_values.assign(text.values.begin() + 1, text.values.end());
  return s;
}

/// Hidden states of every position of every line (the backbone run once) and their targets.
template <class LM>
train::Dataset<typename LM::scalar_type> text_dataset(const LM& lm, std::span<const std::string> lines) {
  using T = typename LM::scalar_type;
  std::vector<TextSample> samples;
  std::size_t positions = 0;
  for (const std::string& line : lines) {
    samples.push_back(text_sample(lm, line));
    positions += samples.back().tokens.size();
  }
  require(positions > 0, "text_dataset: the ", lines.size(), " lines give no training positions");
  train::Dataset<T> data;
  data.hidden.resize(static_cast<Eigen::Index>(positions), static_cast<Eigen::Index>(lm.backbone().hidden_size()));
  data.targets.values.resize(static_cast<Eigen::Index>(positions));
  data.targets.classes.reserve(positions);
  Eigen::Index row = 0;
  for (const TextSample& s : samples) {
    if (s.tokens.empty()) continue;
    const auto n = static_cast<Eigen::Index>(s.tokens.size());
    data.hidden.middleRows(row, n) = lm.hidden_states(s.tokens, s.values);
    for (std::size_t i = 0; i < s.tokens.size(); ++i) {
      data.targets.classes.push_back(s.targets[i]);
      data.targets.values(row + static_cast<Eigen::Index>(i)) = head_target_value<T>(s, i, lm.num_token());
    }
    row += n;
  }
  data.targets.validate(positions, lm.classes(), "text_dataset");
  return data;
}

}  // namespace causalqwen::model
