#pragma once
// Line-oriented text files (plain text, JSONL): each line checked to be UTF-8, and every error
// naming the file and the line, so that a bad line in a million-line corpus is found at once.

#include <causalqwen/core/error.hpp>
#include <causalqwen/tokenizer/utf8.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string_view>

namespace causalqwen {

/// Calls f(line, line_number) for every line of `bytes` (without "\n" or a trailing "\r"),
/// numbering from 1; a line that is not valid UTF-8 fails naming `where` and the line.
template <class F>
void for_each_text_line(std::string_view bytes, std::string_view where, F&& f) {
  std::size_t line_number = 0;
  for (std::size_t begin = 0; begin < bytes.size();) {
    const std::size_t newline = bytes.find('\n', begin);
    const std::size_t end = newline == std::string_view::npos ? bytes.size() : newline;
    std::string_view line = bytes.substr(begin, end - begin);
    begin = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::size_t bad = utf8::first_invalid(line);
    require(bad == line.size(), where, ":", line_number, ": invalid UTF-8 at byte ", bad + 1, " of the line");
    f(line, line_number);
  }
}

/// True when the line holds only spaces and tabs.
inline bool blank_line(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

/// The JSON object on one line of a JSONL file.
inline nlohmann::json json_object_line(std::string_view line, std::string_view where, std::size_t line_number) {
  nlohmann::json object;
  try {
    object = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    fail(where, ":", line_number, ": not valid JSON (", e.what(), ")");
  }
  require(object.is_object(), where, ":", line_number, ": expected a JSON object");
  return object;
}

}  // namespace causalqwen
