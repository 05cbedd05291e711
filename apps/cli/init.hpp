#pragma once
// `causalqwen init`: a causal model directory from a Qwen2 / Qwen2.5 Hugging Face checkpoint —
// the head initialised from the lm_head so that it transfers the base model's knowledge,
// <NUM> added — then checked: on a probe text the head's deterministic decision must equal the
// base model's greedy (argmax) choice at every position.

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace causalqwen::cli {

struct InitCommand {
  std::filesystem::path model_dir, out_dir;
  std::string save_dtype = "f32";
  std::string probe = "The dictionary defines a word by the words around it, and the reader learns them in turn.";
  int threads = 1;

  void attach(CLI::App& app) {
    app.add_option("--model", model_dir, "Qwen2 / Qwen2.5 checkpoint directory (config.json, *.safetensors, tokenizer.json)")
        ->required();
    app.add_option("--out", out_dir, "directory for the causal model")->required();
    app.add_option("--save-dtype", save_dtype, "dtype of the written model.safetensors")
        ->check(CLI::IsMember({"f32", "bf16"}))
        ->capture_default_str();
    app.add_option("--probe", probe, "text (without numbers) on which the step-0 decisions are checked");
    app.add_option("--threads", threads, "CPU threads")->check(CLI::Range(1, 1024));
  }

  int run() const {
    require(std::filesystem::is_directory(model_dir), model_dir.string(),
            ": not a directory (init takes a Hugging Face checkpoint directory)");
    require(!std::filesystem::exists(model_dir / model::kCausalHeadFile), model_dir.string(),
            ": already a causal model (it has ", model::kCausalHeadFile, ")");
    const CpuBackend<float> backend(threads);
    model::TrainableCausalLM<CpuBackend<float>>::load(model_dir, backend)
        .save(out_dir, save_dtype == "bf16" ? io::DType::BF16 : io::DType::F32);

    const auto lm = model::load_causal_lm(out_dir, backend);
    const Qwen2<> base = load_qwen2(model_dir, backend);
    const NumberedText text = lm.encode(probe);
    require(text.ids.size() >= 2, "--probe: the text gives fewer than two tokens");
    for (const TokenId id : text.ids) require(id != lm.num_token(), "--probe: the text must hold no numbers");
    const RowMatrix<float> logits = base.logits(std::span<const TokenId>(text.ids));
    auto head = lm.head();
    head.set_noise_settings({head::InferenceMode::deterministic, 1.0f});
    const auto decisions = head.predict(lm.hidden_states(text));
    std::size_t same = 0;
    for (Eigen::Index t = 0; t < logits.rows(); ++t) {
      Eigen::Index best = 0;
      logits.row(t).maxCoeff(&best);
      same += decisions.classes[static_cast<std::size_t>(t)] == best ? 1 : 0;
    }
    std::printf("wrote %s: %zu classes (vocabulary %d + <NUM>), head %zu -> %zu\n", out_dir.string().c_str(),
                lm.classes(), lm.num_token(), lm.head().hidden_size(), lm.head().latent_size());
    std::printf("step 0: the head's deterministic decision equals the base model's greedy choice at %zu of %lld "
                "probe positions\n", same, static_cast<long long>(logits.rows()));
    require(same == static_cast<std::size_t>(logits.rows()),
            "the initialised head disagrees with the base model's greedy choice at ", logits.rows() - Eigen::Index(same),
            " probe positions");
    return 0;
  }
};

}  // namespace causalqwen::cli
