// Learns a byte-level BPE vocabulary from training text and writes it as a Hugging Face
// tokenizer.json (Qwen2 layout). Numbers are cut out first: in the model they become <NUM>.
//
//   bpe_vocabulary --data FILE... --merges N --out tokenizer.json

#include "cli/program.hpp"

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

using namespace causalqwen;

int main(int argc, char** argv) {
  CLI::App app{"A byte-level BPE vocabulary learned from text (numbers left to <NUM>)"};
  std::vector<std::filesystem::path> data;
  std::filesystem::path out;
  std::size_t merges = 4000;
  app.add_option("--data", data, "training text: .jsonl ({\"text\": ...} per line) or plain text")->required();
  app.add_option("--merges", merges, "merges to learn (the vocabulary is 256 bytes + merges + <|endoftext|>)")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--out", out, "tokenizer.json to write")->required();
  return programs::run_program("bpe_vocabulary", app, argc, argv, [&] {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::string> texts;
    std::size_t bytes = 0;
    for (const auto& file : data)
      for (const std::string& document : model::read_documents(file)) {
        bytes += document.size();
        texts.push_back(without_numbers(document));
      }
    const auto learned = learn_bpe_merges(texts, merges);
    const std::string json = byte_level_tokenizer_json(learned, {"<|endoftext|>"});
    const Tokenizer tokenizer = Tokenizer::from_json(json, out.string());
    std::size_t tokens = 0;
    for (const std::string& text : texts) tokens += tokenizer.encode(text).size();
    write_file_atomically(out, json);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%zu documents, %.1f MB: %zu merges learned, %zu ids; %.2f bytes per token; %.1f s\nwrote %s\n",
                texts.size(), double(bytes) / 1e6, learned.size(), tokenizer.id_limit(),
                double(bytes) / double(std::max<std::size_t>(tokens, 1)), seconds, out.string().c_str());
    return 0;
  });
}
