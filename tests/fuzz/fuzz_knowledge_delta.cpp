// load_delta on arbitrary files (safetensors holding a knowledge delta's metadata and blocks).
#include "fuzz_input.hpp"

#include <causalqwen/domain/knowledge_delta.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace causalqwen;
  const auto file = fuzz::write_input(data, size, "delta.safetensors");
  fuzz::refused_or_loaded([&] { (void)domain::load_delta<double>(file); });
  return 0;
}
