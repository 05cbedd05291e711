#pragma once
// Training text for the whole model: documents read from plain-text or JSONL files, split into a
// training and a validation part by document, encoded with every number as <NUM> (its value
// kept) and packed into sequences of a fixed length.
//
// Packing. The documents of a part, each followed by <|endoftext|> when the tokenizer has it, are
// laid end to end in one token stream, which is cut into sequences of `sequence_length` tokens;
// consecutive sequences share one token, so every token but the first is a target exactly once.
// A position whose target is the first token of the next document is excluded from the loss
// (`ignore`): nothing in one document is trained to predict the start of another. Attention
// still reads the earlier document of the same sequence, as in GPT-2's packing: what crosses a
// boundary is context, never a target.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/token.hpp>
#include <causalqwen/io/file.hpp>
#include <causalqwen/tokenizer/text_lines.hpp>
#include <causalqwen/tokenizer/numbers.hpp>
#include <causalqwen/tokenizer/tokenizer.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <numeric>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace causalqwen::model {

/// One training sequence: ids with their <NUM> values, and which targets the loss skips.
struct TrainingSequence {
  std::vector<TokenId> ids;
  std::vector<double> values;        ///< beside ids: the value at <NUM> (or a spelled number's first token), NaN elsewhere
  std::vector<std::uint8_t> ignore;  ///< [ids.size() - 1]: 1 = position t's target ids[t+1] is skipped; empty: none

  bool ignored(std::size_t t) const { return !ignore.empty() && ignore[t] != 0; }
  /// Positions that count in the loss.
  std::size_t targets() const {
    if (ids.size() < 2) return 0;
    std::size_t n = 0;
    for (std::size_t t = 0; t + 1 < ids.size(); ++t) n += ignored(t) ? 0 : 1;
    return n;
  }
};

/// The sequences a training loop samples from (train::SampledData).
struct SequenceSet {
  std::vector<TrainingSequence> sequences;

  std::size_t size() const { return sequences.size(); }
  std::size_t targets() const {
    std::size_t n = 0;
    for (const TrainingSequence& s : sequences) n += s.targets();
    return n;
  }
  SequenceSet select(const std::vector<std::size_t>& index) const {
    SequenceSet out;
    out.sequences.reserve(index.size());
    for (std::size_t i : index) {
      require(i < size(), "SequenceSet::select: index ", i, " out of range (", size(), " sequences)");
      out.sequences.push_back(sequences[i]);
    }
    return out;
  }
};

/// The documents of a training file. `.jsonl`: one JSON object per non-empty line whose string
/// field "text" is the document. Any other file is plain text whose documents are separated by
/// blank lines. The text must be valid UTF-8; errors name the file and line.
inline std::vector<std::string> read_documents(const std::filesystem::path& file) {
  const std::string bytes = io::read_file(file, "training text");
  const std::string where = file.string();
  const bool jsonl = file.extension() == ".jsonl";
  std::vector<std::string> documents;
  std::string current;
  const auto finish_document = [&] {
    if (current.find_first_not_of(" \t\n") != std::string::npos) documents.push_back(std::move(current));
    current.clear();
  };
  for_each_text_line(bytes, where, [&](std::string_view line, std::size_t line_number) {
    const bool blank = blank_line(line);
    if (!jsonl) {
      if (blank) finish_document();
      else current.append(current.empty() ? "" : "\n").append(line);
      return;
    }
    if (blank) return;
    const nlohmann::json object = json_object_line(line, where, line_number);
    require(object.contains("text") && object["text"].is_string(), where, ":", line_number,
            ": expected an object with a string field \"text\"");
    current = object["text"].get<std::string>();
    finish_document();
  });
  finish_document();
  require(!documents.empty(), where, ": holds no documents");
  return documents;
}

/// Documents split by document: a fraction `validation_fraction` of them (at least one when the
/// fraction is positive and there are two or more), drawn with `seed`, is the validation part;
/// each part keeps the documents' order.
struct DocumentSplit {
  std::vector<std::string> training, validation;
};

inline DocumentSplit split_documents(std::vector<std::string> documents, double validation_fraction,
                                     std::uint64_t seed) {
  require(validation_fraction >= 0 && validation_fraction < 1, "split_documents: the validation fraction must be in ",
          "[0, 1), got ", validation_fraction);
  const std::size_t n = documents.size();
  std::size_t held = static_cast<std::size_t>(std::ceil(validation_fraction * double(n)));
  if (n < 2) held = 0;
  held = std::min(held, n - std::min<std::size_t>(n, 1));
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::uint8_t> is_held(n, 0);
  for (std::size_t i = 0; i < held; ++i) is_held[order[i]] = 1;
  DocumentSplit split;
  for (std::size_t i = 0; i < n; ++i) (is_held[i] ? split.validation : split.training).push_back(std::move(documents[i]));
  return split;
}

/// `documents` encoded with numbers as <NUM> (`num`), or spelled in ordinary tokens with
/// NumberSpelling::digits (a plain language model's text; values beside each number's first token),
/// and packed into sequences of at most `sequence_length` tokens (see the file comment). Sequences
/// without a target are dropped.
inline SequenceSet pack_documents(const Tokenizer& tokenizer, TokenId num, std::span<const std::string> documents,
                                  std::size_t sequence_length, NumberSpelling spelling = NumberSpelling::num_token) {
  require(sequence_length >= 2, "pack_documents: the sequence length must be at least 2, got ", sequence_length);
  const std::optional<TokenId> end_of_text = tokenizer.token_id("<|endoftext|>");
  std::vector<TokenId> ids;
  std::vector<double> values;
  std::vector<std::uint8_t> starts_document;
  for (const std::string& document : documents) {
    NumberedText text = encode_with_numbers(tokenizer, document, num, {}, spelling);
    if (end_of_text) {
      text.ids.push_back(*end_of_text);
      text.values.push_back(std::nan(""));
    }
    for (std::size_t t = 0; t < text.ids.size(); ++t) starts_document.push_back(t == 0 ? 1 : 0);
    ids.insert(ids.end(), text.ids.begin(), text.ids.end());
    values.insert(values.end(), text.values.begin(), text.values.end());
  }
  SequenceSet set;
  for (std::size_t start = 0; start + 1 < ids.size(); start += sequence_length - 1) {
    const std::size_t end = std::min(start + sequence_length, ids.size());
    TrainingSequence s;
    s.ids.assign(ids.begin() + std::ptrdiff_t(start), ids.begin() + std::ptrdiff_t(end));
    s.values.assign(values.begin() + std::ptrdiff_t(start), values.begin() + std::ptrdiff_t(end));
    s.ignore.assign(starts_document.begin() + std::ptrdiff_t(start + 1), starts_document.begin() + std::ptrdiff_t(end));
    if (s.targets() > 0) set.sequences.push_back(std::move(s));
  }
  return set;
}

}  // namespace causalqwen::model
