// Text to token ids and back with a Hugging Face tokenizer.json (Qwen2 / Qwen2.5 / Qwen3 family)
// or the vocabulary of a Qwen2 GGUF file.
//
//   tokenize --tokenizer tokenizer.json [--special] < text.txt      prints ids: "9707 1879"
//   tokenize --tokenizer tokenizer.json --decode < ids.txt          prints the text
//   tokenize --tokenizer model.gguf < text.txt                      the vocabulary of a GGUF file
//
// All of standard input is one text (encode) or one whitespace-separated list of ids (decode).
// Invalid UTF-8, a malformed id or an id outside the vocabulary: a message and exit status 1.

#include "cli/program.hpp"

#include <causalqwen/tokenizer/gguf_tokenizer.hpp>
#include <causalqwen/tokenizer/tokenizer.hpp>
#include <causalqwen/tokenizer/utf8.hpp>

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string read_all(const std::string& input) {
  if (input == "-") return {std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  std::ifstream in(input, std::ios::binary);
  causalqwen::require(in.good(), "cannot open input file ", input);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<causalqwen::TokenId> parse_ids(const std::string& text) {
  std::vector<causalqwen::TokenId> ids;
  std::istringstream words(text);
  for (std::string word; words >> word;) {
    causalqwen::TokenId id = 0;
    const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), id);
    causalqwen::require(ec == std::errc() && end == word.data() + word.size(), "not a token id: \"", word, "\"");
    ids.push_back(id);
  }
  return ids;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Encode standard input to token ids, or decode ids back to text"};
  std::string tokenizer_file, input = "-";
  bool special = false, decode = false;
  app.add_option("--tokenizer", tokenizer_file, "Hugging Face tokenizer.json or GGUF file")->required();
  app.add_flag("--special", special, "recognise special tokens (e.g. <|im_end|>) written in the text");
  app.add_flag("--decode", decode, "read token ids and print their text");
  app.add_option("--input", input, "read this file instead of standard input (\"-\")");
  return causalqwen::programs::run_program("tokenize", app, argc, argv, [&] {
    std::ios::sync_with_stdio(false);
    const auto tokenizer = causalqwen::load_tokenizer(tokenizer_file);
    const std::string text = read_all(input);
    if (decode) {
      std::cout << tokenizer.decode(parse_ids(text));
    } else {
      // Checked here too, so that the message names the input and not only the offset.
      const std::size_t invalid = causalqwen::utf8::first_invalid(text);
      causalqwen::require(invalid == text.size(), input == "-" ? "standard input" : input,
                          ": invalid UTF-8 at byte offset ", invalid);
      const auto ids = tokenizer.encode(text, {.parse_special = special});
      for (std::size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
      std::cout << '\n';
    }
    std::cout.flush();
    return std::cout.good() ? 0 : 1;
  });
}
