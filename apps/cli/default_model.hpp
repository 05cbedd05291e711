#pragma once
// The embedded default model: the causal model trained on dictionary text and numbers that ships
// in the source tree (models/, see its model card) and is installed with the causalqwen command,
// used by every program run without --model, and its held-out numeric prompts (tests/data/eval).

#include <filesystem>
#include <optional>
#include <system_error>
#include <vector>

namespace causalqwen::programs {

/// Where an installed program's data lies (<prefix>/share/causalqwen beside <prefix>/bin), if
/// this program is installed: the embedded model is then the installed copy, not the source tree's.
inline std::optional<std::filesystem::path> installed_data_dir() {
  std::error_code ec;
  const std::filesystem::path program = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  const std::filesystem::path dir = (program.parent_path() / CAUSALQWEN_INSTALLED_DATA_DIR).lexically_normal();
  if (!std::filesystem::is_regular_file(dir / "models/causalqwen-mini/config.json", ec)) return std::nullopt;
  return dir;
}

inline std::filesystem::path default_model_dir() {
  if (const auto installed = installed_data_dir()) return *installed / "models/causalqwen-mini";
  return CAUSALQWEN_DEFAULT_MODEL_DIR;
}

inline std::vector<std::filesystem::path> default_eval_prompts() {
  const auto installed = installed_data_dir();
  const std::filesystem::path dir = installed ? *installed / "eval" : std::filesystem::path(CAUSALQWEN_DEFAULT_EVAL_DIR);
  return {dir / "elements.jsonl", dir / "units.jsonl"};
}

}  // namespace causalqwen::programs
