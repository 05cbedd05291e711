// The .npy parser on arbitrary bytes, and every element of an accepted array.
#include "fuzz_input.hpp"

#include <causalqwen/io/npy.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace causalqwen;
  const std::string where = "input.npy";
  fuzz::refused_or_loaded([&] {
    const std::string_view bytes = fuzz::as_text(data, size);
    const io::NpyArray array = io::parse_npy(bytes, where);
    double sum = 0;
    for (std::size_t i = 0; i < array.elements; ++i) sum += io::npy_element<double>(bytes, array, i);
    (void)sum;
  });
  return 0;
}
