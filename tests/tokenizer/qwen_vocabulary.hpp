#pragma once
// Finds the real Qwen tokenizer.json where scripts/fetch-test-data.sh puts it:
// ${CAUSALQWEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/causalqwen}/qwen-tokenizer.json.

#include <causalqwen/tokenizer/tokenizer.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace causalqwen::test {

inline std::filesystem::path qwen_vocabulary_path() {
  namespace fs = std::filesystem;
  if (const char* cache = std::getenv("CAUSALQWEN_CACHE"); cache != nullptr && *cache != '\0')
    return fs::path(cache) / "qwen-tokenizer.json";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0')
    return fs::path(xdg) / "causalqwen" / "qwen-tokenizer.json";
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr ? home : ".") / ".cache" / "causalqwen" / "qwen-tokenizer.json";
}

/// The loaded real vocabulary, or nullopt (with the reason in `why`) when it is not there.
inline const Tokenizer* qwen_tokenizer(std::string& why) {
  static const std::optional<Tokenizer> tokenizer = []() -> std::optional<Tokenizer> {
    if (!std::filesystem::exists(qwen_vocabulary_path())) return std::nullopt;
    return Tokenizer::from_file(qwen_vocabulary_path());
  }();
  if (!tokenizer) why = "skipped: the Qwen vocabulary " + qwen_vocabulary_path().string() +
                        " is absent (scripts/fetch-test-data.sh fetches it)";
  return tokenizer ? &*tokenizer : nullptr;
}

inline std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

inline nlohmann::json read_json(const std::filesystem::path& file) { return nlohmann::json::parse(read_file(file)); }

/// The Qwen2.5 tokenizer: the cached Qwen3 file without its four Qwen3-only added tokens
/// (ids 151665..151668). Call only when qwen_tokenizer() found the file.
inline Tokenizer qwen25_tokenizer() {
  auto root = read_json(qwen_vocabulary_path());
  auto& added = root["added_tokens"];
  added.erase(std::remove_if(added.begin(), added.end(), [](const auto& t) { return t["id"].template get<int>() >= 151665; }),
              added.end());
  return Tokenizer::from_json(root.dump(), "Qwen2.5 profile");
}

}  // namespace causalqwen::test
