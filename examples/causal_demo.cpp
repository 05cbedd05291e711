// The end-to-end causal language model on an embedded default, no download: a byte-level BPE
// vocabulary learned from a synthetic corpus of sentences with numbers, a small Qwen2-shaped model
// with deterministic random weights, the causal head initialised from it, trained on the corpus
// (backbone frozen) and then asked to continue prompts, writing tokens and numbers.
//
//   causal_demo [--quick] [--lines N] [--steps N] [--seed S]

#include "program.hpp"

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using namespace causalqwen;
using Model = model::CausalLM<Qwen2<>>;

namespace {

/// The corpus with its numbers cut out: the vocabulary learns words, numbers become <NUM>.
std::vector<std::string> without_numbers(const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  for (const std::string& line : lines) {
    std::string text;
    std::size_t done = 0;
    for (const NumberSpan& n : find_numbers(line)) {
      text += line.substr(done, n.begin - done);
      done = n.end;
    }
    out.push_back(text + line.substr(done));
  }
  return out;
}

head::Metrics evaluate(const Model& lm, const train::Dataset<float>& data) {
  const auto p = lm.head().predict(data.hidden);
  return head::evaluate(p.classes, p.confidence, p.value_loc, p.value_scale, data.targets, lm.classes());
}

void print_metrics(const char* when, const head::Metrics& m) {
  std::printf("  %-7s next-token accuracy %.3f | <NUM> precision %.3f recall %.3f F1 %.3f | value MAE %.2f, median AE %.2f\n",
              when, m.accuracy, m.num_precision, m.num_recall, m.num_f1, m.value_mae, m.value_median_ae);
}

void show(const Model& lm, const std::string& prompt, const model::GenerationOptions& options) {
  const auto g = model::generate(lm, prompt, options);
  std::printf("  \"%s\" -> \"%s\"%s\n     ", prompt.c_str(), g.text.c_str(), g.stopped ? "  [end of text]" : "");
  for (std::size_t i = 0; i < g.tokens.size(); ++i) {
    std::string piece = g.tokens[i] == lm.num_token() ? "<NUM>=" + format_number(g.values[i])
                        : lm.tokenizer().is_special(g.tokens[i]) ? lm.tokenizer().token(g.tokens[i])
                                                                 : lm.tokenizer().decode(std::span(&g.tokens[i], 1));
    std::printf(" '%s' %.2f", piece.c_str(), g.probabilities[i]);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"CausalQwen end to end on a built-in tiny model: vocabulary, model, head training, generation"};
  bool quick = false;
  std::size_t lines = 500, steps = 600;
  std::uint64_t seed = 2024;
  app.add_flag("--quick", quick, "a smaller run (fewer lines and steps), e.g. for sanitizer builds");
  app.add_option("--lines", lines, "synthetic sentences (80 % train, 20 % held out)")->check(CLI::Range(10, 100000));
  app.add_option("--steps", steps, "training steps")->check(CLI::Range(1, 1000000));
  app.add_option("--seed", seed, "seed of everything random");
  return causalqwen::programs::run_program("causal_demo", app, argc, argv, [&] {
    if (quick) lines = std::min<std::size_t>(lines, 120), steps = std::min<std::size_t>(steps, 60);
    const auto start = std::chrono::steady_clock::now();
    const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };

    const auto corpus = model::templated_sentences(lines, seed);
    const std::size_t split = lines * 4 / 5;
    const std::vector<std::string> train_lines(corpus.begin(), corpus.begin() + std::ptrdiff_t(split));
    const std::vector<std::string> test_lines(corpus.begin() + std::ptrdiff_t(split), corpus.end());
    const auto merges = learn_bpe_merges(without_numbers(train_lines), 300);
    Tokenizer tokenizer = Tokenizer::from_json(byte_level_tokenizer_json(merges, {"<|endoftext|>"}), "built-in BPE");

    Qwen2Config config;
    config.vocab_size = static_cast<std::int64_t>(tokenizer.id_limit());
    config.hidden_size = 64;
    config.intermediate_size = 176;
    config.num_hidden_layers = 2;
    config.num_attention_heads = 4;
    config.num_key_value_heads = 2;
    config.head_dim = 16;
    config.max_position_embeddings = 256;
    Model lm = Model::from_base(std::move(tokenizer), model::random_qwen2(config, seed));

    std::printf("CausalQwen demo (built-in model, no download)\n");
    std::printf("  vocabulary: 256 bytes + %zu merges + <|endoftext|>; <NUM> = id %d; K+1 = %zu classes\n",
                merges.size(), lm.num_token(), lm.classes());
    std::printf("  backbone:   Qwen2-shaped, hidden %lld, %lld layers, %lld heads (%lld KV), random weights (seed %llu)\n",
                (long long)config.hidden_size, (long long)config.num_hidden_layers,
                (long long)config.num_attention_heads, (long long)config.num_key_value_heads, (unsigned long long)seed);
    std::printf("  value encoding: %s; head: D = H = %zu, initialised from the lm_head\n",
                std::string(Model::encoding_type::name()).c_str(), lm.head().latent_size());
    std::printf("  corpus:     %zu synthetic sentences, e.g. \"%s\"\n", corpus.size(), corpus[0].c_str());

    const auto train_data = model::text_dataset(lm, train_lines);
    const auto test_data = model::text_dataset(lm, test_lines);
    std::printf("  positions:  %zu train, %zu held out (hidden states cached once, %.1f s)\n\n", train_data.size(),
                test_data.size(), elapsed());

    std::printf("Held-out metrics\n");
    print_metrics("before", evaluate(lm, test_data));
    train::HeadTrainingOptions<float> options;
    options.steps = steps;
    options.batch_size = 128;
    options.optimizer.learning_rate = 0.01f;
    options.optimizer.max_grad_norm = 100.0f;
    options.seed = seed;
    options.progress = true;
    options.progress_unit = "tokens";
    const auto report = train::train_head(lm.head(), train_data, options);
    print_metrics("after", evaluate(lm, test_data));
    std::printf("  training:   %zu steps, loss %.2f -> %.2f per batch, batch accuracy %.3f -> %.3f (%.1f s)\n\n",
                report.steps, report.log.front().loss, report.log.back().loss, report.log.front().accuracy,
                report.log.back().accuracy, report.seconds);

    std::printf("Generation (deterministic; each decision with its P_k)\n");
    for (const char* prompt : {"The price of the book is", "Alice is", "The temperature in Oslo is",
                               "In 2001 the town had"})
      show(lm, prompt, {.max_tokens = 12});
    std::printf("Generation (sampled individuals, seed 7)\n");
    show(lm, "The train to Lima takes", {.max_tokens = 12, .sample = true, .seed = 7});
    std::printf("\nTotal %.1f s\n", elapsed());
    return 0;
  });
}
