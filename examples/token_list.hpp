#pragma once
// "1,5,9" -> token ids, for the examples' --tokens option; anything else is a causalqwen::error.

#include <causalqwen/backbone/backbone.hpp>
#include <causalqwen/core/error.hpp>

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdint>
#include <system_error>
#include <string>
#include <vector>

inline std::vector<causalqwen::TokenId> parse_token_list(const std::string& list) {
  std::vector<causalqwen::TokenId> tokens;
  for (const std::string& field : CLI::detail::split(list, ',')) {
    long value = -1;
    const auto [end, status] = std::from_chars(field.data(), field.data() + field.size(), value);
    causalqwen::require(status == std::errc{} && end == field.data() + field.size() && !field.empty() && value >= 0 &&
                            value <= INT32_MAX,
                        "--tokens: '", field, "' is not a token id");
    tokens.push_back(static_cast<causalqwen::TokenId>(value));
  }
  causalqwen::require(!tokens.empty(), "--tokens: no token ids given");
  return tokens;
}
