// read_text_lines on arbitrary files.
#include "fuzz_input.hpp"

#include <causalqwen/model/text_data.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace causalqwen;
  const auto file = fuzz::write_input(data, size, "lines.txt");
  fuzz::refused_or_loaded([&] { (void)model::read_text_lines(file); });
  return 0;
}
