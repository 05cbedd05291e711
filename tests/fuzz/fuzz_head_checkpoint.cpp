// load_head on arbitrary files (safetensors holding a head's metadata and blocks).
#include "fuzz_input.hpp"

#include <causalqwen/head/checkpoint.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace causalqwen;
  const auto file = fuzz::write_input(data, size, "head.safetensors");
  fuzz::refused_or_loaded([&] { (void)head::load_head<double>(file); });
  return 0;
}
