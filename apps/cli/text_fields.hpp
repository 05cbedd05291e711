#pragma once
// Comma-separated fields as the command reads them (CSV rows, --alpha lists): every field is
// kept, empty ones included, so "1,,2" and a trailing comma are seen as written.

#include <string>
#include <string_view>
#include <vector>

namespace causalqwen::cli {

inline std::vector<std::string> split_fields(std::string_view line, char separator = ',') {
  std::vector<std::string> fields(1);
  for (const char c : line) {
    if (c == separator) fields.emplace_back();
    else fields.back().push_back(c);
  }
  return fields;
}

}  // namespace causalqwen::cli
