// A fixed byte-level BPE tokenizer (tests/data/tokenizer/tiny_tokenizer.json, Qwen2's split
// pattern) encoding and decoding arbitrary bytes, with and without <NUM> extraction. The first
// byte picks the options; the rest is the text, and also read as token ids to decode.
#include "fuzz_input.hpp"

#include <causalqwen/tokenizer/normalizer.hpp>
#include <causalqwen/tokenizer/numbers.hpp>
#include <causalqwen/tokenizer/tokenizer.hpp>
#include <causalqwen/tokenizer/utf8.hpp>

#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace causalqwen;
  static const Tokenizer tokenizer = Tokenizer::from_file(CAUSALQWEN_FUZZ_TOKENIZER);
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const std::string_view text = fuzz::as_text(data + 1, size - 1);
  const EncodeOptions encode{.parse_special = (flags & 1) != 0,
                             .invalid_utf8 = (flags & 2) ? utf8::Policy::replace : utf8::Policy::reject};
  const DecodeOptions decode{.skip_special = (flags & 4) != 0,
                             .invalid_utf8 = (flags & 8) ? utf8::Policy::reject : utf8::Policy::replace};

  fuzz::refused_or_loaded([&] {
    const std::vector<TokenId> ids = tokenizer.encode(text, encode);
    const std::string back = tokenizer.decode(ids, decode);
    // Byte-level BPE loses nothing: valid NFC text without dropped special tokens comes back whole.
    std::string storage;
    if (!decode.skip_special && utf8::is_valid(text) && normalize(text, Normalization::nfc, storage) == text &&
        back != text)
      std::abort();
  });
  fuzz::refused_or_loaded([&] {
    const TokenId num = num_token_id(tokenizer);
    const NumberedText numbered = encode_with_numbers(tokenizer, text, num, encode);
    (void)decode_with_numbers(tokenizer, numbered.ids, numbered.values, num, decode);
  });
  fuzz::refused_or_loaded([&] {
    for (const NumberSpan& number : find_numbers(text))
      if (number.begin >= number.end || number.end > text.size()) std::abort();
  });
  fuzz::refused_or_loaded([&] {
    std::vector<TokenId> ids(text.size() / sizeof(TokenId));
    if (!ids.empty()) std::memcpy(ids.data(), text.data(), ids.size() * sizeof(TokenId));
    (void)tokenizer.decode(ids, decode);
  });
  return 0;
}
