// A Qwen2 config.json, and the config written back as JSON.
#include "fuzz_input.hpp"

#include <causalqwen/backbone/qwen2_config.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace causalqwen;
  const auto file = fuzz::write_input(data, size, "config.json");
  fuzz::refused_or_loaded([&] {
    const auto config = load_qwen2_config(file);
    (void)qwen2_config_json(config);
  });
  return 0;
}
