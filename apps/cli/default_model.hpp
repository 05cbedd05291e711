#pragma once
// The embedded default model: the causal model trained on dictionary text and numbers that ships
// in the source tree (models/, see its model card), used by every program run without --model,
// and its held-out numeric prompts (tests/data/eval).

#include <filesystem>
#include <vector>

namespace causalqwen::programs {

inline std::filesystem::path default_model_dir() { return CAUSALQWEN_DEFAULT_MODEL_DIR; }

inline std::vector<std::filesystem::path> default_eval_prompts() {
  const std::filesystem::path dir = CAUSALQWEN_DEFAULT_EVAL_DIR;
  return {dir / "elements.jsonl", dir / "units.jsonl"};
}

}  // namespace causalqwen::programs
