// Tokenizer::from_json on arbitrary text, and a loaded tokenizer encoding and decoding a sample
// (a hostile file's split pattern and merges are only exercised by using them).
#include "fuzz_input.hpp"

#include <causalqwen/tokenizer/tokenizer.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace causalqwen;
  fuzz::refused_or_loaded([&] {
    const Tokenizer tokenizer = Tokenizer::from_json(fuzz::as_text(data, size), "input.json");
    const auto ids = tokenizer.encode("Hello world, 3.14 <|endoftext|>\n\n  x", {.parse_special = true});
    (void)tokenizer.decode(ids);
  });
  return 0;
}
