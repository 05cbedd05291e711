// Runs a Qwen2 / Qwen2.5 checkpoint (a Hugging Face directory or a GGUF file) on a token
// sequence and prints the five most likely next tokens; optionally writes the logits of every
// position.
//
//   qwen_forward --model DIR|FILE.gguf --tokens 1,5,9 [--threads 2] [--weights as-stored|f32|bf16]
//                [--dump-logits FILE]

#include "cli/program.hpp"

#include <causalqwen/backbone/qwen2.hpp>
#include <causalqwen/backbone/qwen2_gguf.hpp>
#include <causalqwen/core/atomic_file.hpp>

#include "token_list.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <numeric>
#include <string>
#include <vector>

using namespace causalqwen;

int main(int argc, char** argv) {
  CLI::App app{"Qwen2 forward pass: top-5 next tokens of a token sequence"};
  std::string model_dir, token_list, dump_file, weights = "as-stored";
  int threads = 1;
  app.add_option("--model", model_dir, "checkpoint directory (config.json + safetensors) or GGUF file")->required();
  app.add_option("--tokens", token_list, "comma-separated token ids, e.g. 1,5,9")->required();
  app.add_option("--threads", threads, "CPU threads")->check(CLI::PositiveNumber);
  app.add_option("--weights", weights, "weights in memory: as-stored, f32 or bf16")
      ->check(CLI::IsMember({"as-stored", "f32", "bf16"}));
  app.add_option("--dump-logits", dump_file, "write the logits of every position, one line each");
  return causalqwen::programs::run_program("qwen_forward", app, argc, argv, [&] {
    const std::vector<TokenId> tokens = parse_token_list(token_list);

    const std::map<std::string, WeightFormat> formats = {
        {"as-stored", WeightFormat::as_stored}, {"f32", WeightFormat::dense}, {"bf16", WeightFormat::bf16}};
    const auto start = std::chrono::steady_clock::now();
    const Qwen2<> model = load_qwen2(model_dir, CpuBackend<float>(threads), formats.at(weights));
    const auto loaded = std::chrono::steady_clock::now();
    const RowMatrix<float> logits = model.logits(std::span<const TokenId>(tokens));
    const auto done = std::chrono::steady_clock::now();

    const auto last = logits.row(logits.rows() - 1);
    std::vector<Eigen::Index> order(static_cast<std::size_t>(last.size()));
    std::iota(order.begin(), order.end(), Eigen::Index{0});
    const std::size_t shown = std::min<std::size_t>(5, order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(shown), order.end(),
                      [&](Eigen::Index a, Eigen::Index b) { return last[a] > last[b]; });
    std::printf("model: %s (%lld layers, hidden %lld, vocab %lld), %zu tokens\n", model_dir.c_str(),
                static_cast<long long>(model.config().num_hidden_layers), static_cast<long long>(model.config().hidden_size),
                static_cast<long long>(model.vocab_size()), tokens.size());
    std::printf("top-5 next tokens after position %zu:\n", tokens.size() - 1);
    for (std::size_t i = 0; i < shown; ++i)
      std::printf("  %lld  logit %.6f\n", static_cast<long long>(order[i]), static_cast<double>(last[order[i]]));
    std::printf("load %.3f s, forward %.3f s\n", std::chrono::duration<double>(loaded - start).count(),
                std::chrono::duration<double>(done - loaded).count());

    if (!dump_file.empty()) {
      std::string text;
      char number[32];
      for (Eigen::Index r = 0; r < logits.rows(); ++r) {
        for (Eigen::Index c = 0; c < logits.cols(); ++c) {
          std::snprintf(number, sizeof number, "%.9g", static_cast<double>(logits(r, c)));
          if (c > 0) text += ' ';
          text += number;
        }
        text += '\n';
      }
      write_file_atomically(dump_file, text);
      std::printf("logits of %lld positions written to %s\n", static_cast<long long>(logits.rows()), dump_file.c_str());
    }
    return 0;
  });
}
