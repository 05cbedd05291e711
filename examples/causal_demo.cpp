// The causal language model of the quick start, on the embedded default model (models/, trained
// by scripts/train-default-model.sh on dictionary text and numbers from Debian packages; no
// download): it continues dictionary-style prompts, answers numeric questions with the Cauchy
// law of each number — its median and a central 90 % interval — and measures on held-out
// prompts how often those intervals hold the true value.
//
//   causal_demo [--model DIR] [--prompts FILE.jsonl]... [--quick]

#include "cli/default_model.hpp"
#include "cli/program.hpp"

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

using namespace causalqwen;
using Model = model::CausalLM<Qwen2<>>;

namespace {

/// Four significant digits: enough to read an interval.
std::string short_number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", value);
  return buffer;
}

/// The text of a generation with every number followed by its 90 % interval.
template <class LM>
std::string annotated(const LM& lm, const model::Generation& g) {
  std::string out;
  for (std::size_t i = 0; i < g.tokens.size(); ++i) {
    const TokenId t = g.tokens[i];
    if (t == lm.num_token()) {
      const auto interval = model::central_interval(g.values[i], g.value_scales[i], 0.9);
      out += format_number(g.values[i]) + " {90%: " + short_number(interval.low) + " .. " +
             short_number(interval.high) + "}";
    } else if (!lm.tokenizer().is_special(t)) {
      out += lm.tokenizer().decode(std::span(&g.tokens[i], 1));
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"CausalQwen on the embedded default model: text, numbers with their Cauchy intervals, coverage"};
  std::filesystem::path model_dir = programs::default_model_dir();
  std::vector<std::filesystem::path> prompt_files = programs::default_eval_prompts();
  bool quick = false;
  int threads = 2;
  app.add_option("--model", model_dir, "causal model directory (or any Qwen2 checkpoint)")->capture_default_str();
  app.add_option("--prompts", prompt_files, "held-out numeric prompts (JSONL {\"prompt\", \"value\"})");
  app.add_flag("--quick", quick, "score fewer held-out prompts (e.g. for sanitizer builds)");
  app.add_option("--threads", threads, "CPU threads")->check(CLI::Range(1, 1024));
  return programs::run_program("causal_demo", app, argc, argv, [&] {
    const auto start = std::chrono::steady_clock::now();
    const auto lm = model::load_causal_lm<Model>(model_dir, CpuBackend<float>(threads));
    const Qwen2Config& c = lm.backbone().config();
    std::printf("CausalQwen demo: %s\n", model_dir.string().c_str());
    std::printf("  Qwen2 backbone: hidden %lld, %lld layers, %lld heads (%lld key/value); vocabulary %d + <NUM>\n",
                (long long)c.hidden_size, (long long)c.num_hidden_layers, (long long)c.num_attention_heads,
                (long long)c.num_key_value_heads, lm.num_token());
    std::printf("  causal head: U ~ Cauchy(loc(h), scale(h)) in %zu dimensions; %zu one-vs-rest classes; "
                "<NUM> values enter through the %s encoding\n\n",
                lm.head().latent_size(), lm.classes(), std::string(Model::encoding_type::name()).c_str());

    std::printf("Text (greedy; numbers with their median and central 90 %% interval)\n");
    for (const char* prompt : {"Abacus, n. A", "Granite, n. A", "The element with symbol Fe is", "Sodium (Na) has atomic number"})
      std::printf("  %s|%s\n", prompt, annotated(lm, model::generate(lm, prompt, {.max_tokens = 32})).c_str());

    std::printf("\nNumeric answers on held-out prompts (elements and unit pairs never seen in training)\n");
    for (const auto& file : prompt_files) {
      auto prompts = model::read_number_prompts(file);
      if (quick && prompts.size() > 12) prompts.resize(12);
      const auto e = model::evaluate_numbers(lm, prompts);
      for (std::size_t i = 0; i < std::min<std::size_t>(3, prompts.size()); ++i) {
        const auto& a = e.answers[i];
        if (!a.produced) {
          std::printf("  %s|%s  (true %s; no number)\n", prompts[i].prompt.c_str(), a.text.c_str(),
                      format_number(prompts[i].value).c_str());
          continue;
        }
        const auto interval = model::central_interval(a.median, a.scale, 0.9);
        std::printf("  %s ... %s  {90%%: %s .. %s}  (true %s)\n", prompts[i].prompt.c_str(),
                    short_number(a.median).c_str(), short_number(interval.low).c_str(),
                    short_number(interval.high).c_str(), format_number(prompts[i].value).c_str());
      }
      std::printf("  %s: %zu prompts, a number for %.0f %%; median relative error %.3f; the 50 %% intervals "
                  "hold the true value %.0f %% of the time, the 90 %% intervals %.0f %%\n\n",
                  file.filename().string().c_str(), e.prompts, 100 * e.number_rate, e.median_relative_error,
                  100 * e.coverage_at(0.5), 100 * e.coverage_at(0.9));
    }
    std::printf("Total %.1f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return 0;
  });
}
