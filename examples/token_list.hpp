#pragma once
// "1,5,9" -> token ids, for the examples' --tokens option; anything else is a causalqwen::error.

#include <causalqwen/backbone/backbone.hpp>
#include <causalqwen/core/error.hpp>

#include <CLI/CLI.hpp>

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

inline std::vector<causalqwen::TokenId> parse_token_list(const std::string& list) {
  std::vector<causalqwen::TokenId> tokens;
  for (const std::string& field : CLI::detail::split(list, ',')) {
    std::size_t used = 0;
    long value = -1;
    try {
      value = std::stol(field, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    causalqwen::require(used == field.size() && !field.empty() && value >= 0 && value <= INT32_MAX, "--tokens: '", field,
                        "' is not a token id");
    tokens.push_back(static_cast<causalqwen::TokenId>(value));
  }
  causalqwen::require(!tokens.empty(), "--tokens: no token ids given");
  return tokens;
}
