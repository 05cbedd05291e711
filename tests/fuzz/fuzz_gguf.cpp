// The GGUF reader on arbitrary files: every metadata value through every typed accessor, every
// tensor dequantised, and the tokenizer and Qwen2 config read from the metadata.
#include "fuzz_input.hpp"

#include <causalqwen/backbone/qwen2_gguf.hpp>
#include <causalqwen/io/gguf.hpp>
#include <causalqwen/tokenizer/gguf_tokenizer.hpp>

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace causalqwen;
  const auto file = fuzz::write_input(data, size, "input.gguf");
  fuzz::refused_or_loaded([&] {
    const io::GgufReader reader(file);
    for (const std::string& key : reader.keys()) {
      fuzz::refused_or_loaded([&] { (void)reader.unsigned_integer(key); });
      fuzz::refused_or_loaded([&] { (void)reader.integer(key); });
      fuzz::refused_or_loaded([&] { (void)reader.number(key); });
      fuzz::refused_or_loaded([&] { (void)reader.boolean(key); });
      fuzz::refused_or_loaded([&] { (void)reader.string(key); });
      fuzz::refused_or_loaded([&] { (void)reader.strings(key); });
      fuzz::refused_or_loaded([&] { (void)reader.integers(key); });
    }
    for (const io::GgufTensor& tensor : reader.tensors()) {
      // Accepted tensors lie inside the file, so their element count is bounded by its size.
      std::vector<float> out(static_cast<std::size_t>(tensor.element_count()));
      io::to_float(tensor, out.data());
    }
    fuzz::refused_or_loaded([&] { (void)tokenizer_from_gguf(reader); });
    fuzz::refused_or_loaded([&] { (void)qwen2_config_from_gguf(reader); });
  });
  return 0;
}
