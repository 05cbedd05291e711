// The safetensors reader on arbitrary files: the header, the tensor table and every tensor's data.
#include "fuzz_input.hpp"

#include <causalqwen/io/safetensors.hpp>

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace causalqwen;
  const auto file = fuzz::write_input(data, size, "input.safetensors");
  fuzz::refused_or_loaded([&] {
    const io::SafetensorsReader reader(file);
    for (const auto& [key, value] : reader.metadata()) (void)value.size();
    for (const std::string& name : reader.names()) {
      const io::TensorView& view = reader.tensor(name);
      // Accepted tensors lie inside the file, so their element count is bounded by its size.
      fuzz::refused_or_loaded([&] {
        std::vector<float> out(static_cast<std::size_t>(view.element_count()));
        reader.convert(view, out.data());
      });
      fuzz::refused_or_loaded([&] { (void)reader.matrix<double>(name); });
      fuzz::refused_or_loaded([&] { (void)reader.vector<float>(name); });
    }
  });
  return 0;
}
