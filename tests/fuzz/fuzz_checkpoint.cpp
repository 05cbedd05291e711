// A sharded checkpoint's model.safetensors.index.json, beside two good shards.
#include "fuzz_input.hpp"

#include <causalqwen/io/checkpoint.hpp>
#include <causalqwen/io/safetensors.hpp>

namespace {

void write_shards() {
  using namespace causalqwen;
  io::SafetensorsWriter first;
  first.add("model.embed_tokens.weight", RowMatrix<float>(RowMatrix<float>::Constant(3, 2, 0.5f)));
  first.add("model.norm.weight", Vector<float>(Vector<float>::Constant(2, 1.0f)));
  first.write(fuzz::scratch_dir() / "model-00001-of-00002.safetensors");
  io::SafetensorsWriter second;
  second.add("lm_head.weight", RowMatrix<double>(RowMatrix<double>::Constant(3, 2, -1.0)));
  second.write(fuzz::scratch_dir() / "model-00002-of-00002.safetensors");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace causalqwen;
  static const bool shards_written = (write_shards(), true);
  (void)shards_written;
  fuzz::write_input(data, size, std::string(io::Checkpoint::index_file));
  fuzz::refused_or_loaded([&] {
    const io::Checkpoint checkpoint(fuzz::scratch_dir());
    for (const std::string& name : checkpoint.names()) {
      (void)checkpoint.tensor(name);
      fuzz::refused_or_loaded([&] { (void)checkpoint.matrix<float>(name); });
    }
  });
  return 0;
}
