// Writes the seed corpora of the fuzz targets: small valid files made with the library's own
// writers, copies of fixtures from tests/data, and variants that hold huge ids, sizes and counts
// (the inputs that found real bugs, which mutation alone rarely reaches).
//   causalqwen_fuzz_seeds <tests/data> <tests/fuzz/corpus>
#include <causalqwen/domain/knowledge_delta.hpp>
#include <causalqwen/head/causal_head.hpp>
#include <causalqwen/head/checkpoint.hpp>
#include <causalqwen/io/npy.hpp>
#include <causalqwen/io/safetensors.hpp>
#include <causalqwen/tokenizer/byte_level.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace fs = std::filesystem;
using namespace causalqwen;
using namespace std::string_view_literals;

namespace {

constexpr std::string_view huge = "18446744073709551615";

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write(const fs::path& file, std::string_view bytes) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string replaced(std::string text, std::string_view from, std::string_view to) {
  const std::size_t at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error("seed template lacks '" + std::string(from) + "'");
  return text.replace(at, from.size(), to);
}

/// A safetensors file: 8-byte length, then the JSON header, then `data`.
std::string safetensors(std::string_view header, std::string_view data = {}) {
  std::string out(8, '\0');
  const std::uint64_t length = header.size();
  std::memcpy(out.data(), &length, 8);
  return out.append(header).append(data);
}

/// A copy of `from` with metadata `key` set to `value` (the tensors kept as they are).
void rewrite_metadata(const fs::path& from, const fs::path& to, const std::string& key, const std::string& value) {
  const io::SafetensorsReader reader(from);
  io::SafetensorsWriter writer;
  for (const auto& [k, v] : reader.metadata()) writer.set_metadata(k, v);
  writer.set_metadata(key, value);
  for (const std::string& name : reader.names()) {
    const io::TensorView& view = reader.tensor(name);
    writer.add_raw(name, view.dtype, view.shape, view.bytes);
  }
  writer.write(to);
}

std::string npy(std::string header_dict, std::string_view data) {
  while ((10 + header_dict.size() + 1) % 64 != 0) header_dict += ' ';
  header_dict += '\n';
  std::string out = "\x93NUMPY";
  out += char(1);
  out += char(0);
  out += static_cast<char>(header_dict.size() & 0xff);
  out += static_cast<char>(header_dict.size() >> 8);
  return out + header_dict + std::string(data);
}

void safetensors_seeds(const fs::path& dir) {
  io::SafetensorsWriter writer;
  writer.set_metadata("format", "pt");
  writer.add("matrix", RowMatrix<float>(RowMatrix<float>::Constant(2, 3, 1.5f)));
  writer.add("vector", Vector<double>(Vector<double>::Constant(4, -2.0)));
  writer.add_as("half", io::DType::F16, RowMatrix<float>(RowMatrix<float>::Constant(1, 2, 0.25f)));
  writer.add_as("brain", io::DType::BF16, Vector<float>(Vector<float>::Constant(3, 3.0f)));
  writer.write(dir / "small.safetensors");
  write(dir / "huge_shape.safetensors",
        safetensors(R"({"t":{"dtype":"F32","shape":[)" + std::string(huge) + R"(,4294967296],"data_offsets":[0,)" +
                    std::string(huge) + "]}}"));
  write(dir / "huge_offsets.safetensors",
        safetensors(R"({"t":{"dtype":"F64","shape":[1],"data_offsets":[18446744073709551608,0]}})", "12345678"));
  write(dir / "empty_and_int.safetensors",
        safetensors(R"({"__metadata__":{"a":"b"},"e":{"dtype":"BF16","shape":[0,2000000000],"data_offsets":[0,0]},)"
                    R"("i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})",
                    "\xff\xff\xff\xff\xff\xff\xff\xff"));
}

void checkpoint_seeds(const fs::path& dir) {
  const std::string index = R"({"metadata":{"total_size":44},"weight_map":{)"
                            R"("model.embed_tokens.weight":"model-00001-of-00002.safetensors",)"
                            R"("model.norm.weight":"model-00001-of-00002.safetensors",)"
                            R"("lm_head.weight":"model-00002-of-00002.safetensors"}})";
  write(dir / "index.json", index);
  write(dir / "missing_shard.json", replaced(index, "model-00002-of-00002", "model-00003-of-00003"));
  write(dir / "huge_size.json", replaced(index, "44", huge));
}

void config_seeds(const fs::path& data, const fs::path& dir) {
  const std::string config = read(data / "qwen2" / "config.json");
  write(dir / "config.json", config);
  write(dir / "huge_vocab.json", replaced(config, R"("vocab_size": )", R"("vocab_size": 18446744073709551615, "x": )"));
  write(dir / "huge_layers.json",
        replaced(config, R"("num_hidden_layers": )", R"("num_hidden_layers": 2000000000, "x": )"));
}

void tokenizer_seeds(const fs::path& data, const fs::path& json_dir, const fs::path& encode_dir) {
  const std::string tokenizer = read(data / "tokenizer" / "tiny_tokenizer.json");
  write(json_dir / "tiny_tokenizer.json", tokenizer);
  write(json_dir / "huge_added_id.json", replaced(tokenizer, R"("id": 265)", R"("id": 2147483647)"));
  write(json_dir / "huge_added_id_u64.json", replaced(tokenizer, R"("id": 265)", R"("id": 18446744073709551615)"));
  write(json_dir / "huge_vocab_id.json", replaced(tokenizer, R"("ā": 1,)", R"("ā": 4294967297,)"));
  write(json_dir / "negative_id.json", replaced(tokenizer, R"("id": 265)", R"("id": -1)"));
  // The first byte is the options (tests/fuzz/fuzz_tokenizer_encode.cpp).
  write(encode_dir / "numbers.txt", "\x00It costs $1,299.99 (or 1e308) on 2024-05-01; -1 and 18446744073709551615."sv);
  write(encode_dir / "special.txt", "\x01<|endoftext|>Hello  world\r\n\n\t 3.14<|endoftext|>");
  write(encode_dir / "invalid_utf8.txt", "\x0a\xff\xfe caf\xc3\xa9 \xe2\x82 \xf0\x9f\x98\x80 Ab\xcc\x81");
  write(encode_dir / "spaces.txt", "\x04" + std::string(3000, ' ') + "x" + std::string(3000, '\n'));
}

void npy_seeds(const fs::path& dir) {
  const std::vector<float> f{1, 2, 3, 4, 5, 6};
  const std::vector<std::uint64_t> shape{2, 3};
  io::save_npy<float>(dir / "matrix_f4.npy", f, shape);
  const std::vector<double> d{0.5, -1.5, 1e308};
  const std::vector<std::uint64_t> vector_shape{3};
  io::save_npy<double>(dir / "vector_f8.npy", d, vector_shape);
  write(dir / "scalar.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", std::string(8, '\0')));
  write(dir / "huge_extent.npy",
        npy("{'descr': '<f4', 'fortran_order': True, 'shape': (" + std::string(huge) + ", 4294967296), }", ""));
  std::string many = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  while (many.size() < 30000) many += "1, ";
  write(dir / "long_shape.npy", npy(many + "), }", std::string(4, '\0')));
}

void head_seeds(const fs::path& head_dir, const fs::path& delta_dir) {
  std::mt19937_64 rng(1);
  const auto base = head::CausalHead<double>::random(4, 3, 3, rng);
  head::save_head(base, head_dir / "head.safetensors");
  rewrite_metadata(head_dir / "head.safetensors", head_dir / "huge_hidden.safetensors", "H", std::string(huge));
  rewrite_metadata(head_dir / "head.safetensors", head_dir / "huge_classes.safetensors", "K", "2000000000");

  const auto adapted = head::CausalHead<double>::random(4, 3, 3, rng);
  const auto delta = domain::make_delta<head::ExpLink>(std::string("medical"), base.abduction().params(),
                                                       adapted.abduction().params(), 0.01, 0.1, 1.0);
  domain::save_delta(delta, delta_dir / "delta.safetensors");
  rewrite_metadata(delta_dir / "delta.safetensors", delta_dir / "huge_latent.safetensors", "D", std::string(huge));
  rewrite_metadata(delta_dir / "delta.safetensors", delta_dir / "huge_epsilon.safetensors", "epsilon", "1e308");
}

/// GGUF fields in the file's little-endian layout.
class GgufWriter {
 public:
  GgufWriter& text(std::string_view s) { return u64(s.size()).raw(s); }
  GgufWriter& u32(std::uint32_t v) { return raw({reinterpret_cast<const char*>(&v), 4}); }
  GgufWriter& u64(std::uint64_t v) { return raw({reinterpret_cast<const char*>(&v), 8}); }
  GgufWriter& f32(float v) { return raw({reinterpret_cast<const char*>(&v), 4}); }
  GgufWriter& raw(std::string_view s) {
    bytes.append(s);
    return *this;
  }
  std::string bytes;
};

/// A small GGUF file (version 3) with a whole byte-level vocabulary, a Qwen2 config and two tiny
/// tensors, so that mutations reach the tokenizer and config readers fast. `token_count` is
/// the token list's length field, `block_count` the layer count.
std::string small_gguf(std::uint64_t token_count, std::uint32_t block_count) {
  enum : std::uint32_t { u32_type = 4, int32_type = 5, f32_type = 6, string_type = 8, array_type = 9 };
  std::vector<std::string> tokens(byte_level::byte_symbols().begin(), byte_level::byte_symbols().end());
  tokens.push_back(byte_level::encode("ab"));
  tokens.push_back("<|endoftext|>");
  GgufWriter w;
  w.raw("GGUF").u32(3).u64(2).u64(16);
  w.text("general.architecture").u32(string_type).text("qwen2");
  w.text("general.alignment").u32(u32_type).u32(32);
  w.text("qwen2.embedding_length").u32(u32_type).u32(8);
  w.text("qwen2.feed_forward_length").u32(u32_type).u32(16);
  w.text("qwen2.block_count").u32(u32_type).u32(block_count);
  w.text("qwen2.attention.head_count").u32(u32_type).u32(2);
  w.text("qwen2.attention.head_count_kv").u32(u32_type).u32(1);
  w.text("qwen2.context_length").u32(u32_type).u32(64);
  w.text("qwen2.attention.layer_norm_rms_epsilon").u32(f32_type).f32(1e-6f);
  w.text("qwen2.rope.freq_base").u32(f32_type).f32(10000.0f);
  w.text("tokenizer.ggml.model").u32(string_type).text("gpt2");
  w.text("tokenizer.ggml.pre").u32(string_type).text("qwen2");
  w.text("tokenizer.ggml.tokens").u32(array_type).u32(string_type).u64(token_count);
  for (const std::string& token : tokens) w.text(token);
  w.text("tokenizer.ggml.token_type").u32(array_type).u32(int32_type).u64(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) w.u32(i + 1 < tokens.size() ? 1 : 3);
  w.text("tokenizer.ggml.merges").u32(array_type).u32(string_type).u64(1).text("a b");
  w.text("tokenizer.ggml.eos_token_id").u32(u32_type).u32(static_cast<std::uint32_t>(tokens.size() - 1));
  // token_embd.weight: F32, ggml extents [2, 4] (4 rows of 2); blk.0.attn_q.weight: Q8_0, [32, 1].
  w.text("token_embd.weight").u32(2).u64(2).u64(4).u32(0).u64(0);
  w.text("blk.0.attn_q.weight").u32(2).u64(32).u64(1).u32(8).u64(32);
  while (w.bytes.size() % 32 != 0) w.raw(std::string_view("\0", 1));
  for (int i = 0; i < 8; ++i) w.f32(1.0f);
  w.raw(std::string_view("\0\x3c", 2));  // the block's F16 scale, 1.0
  for (int i = 0; i < 32; ++i) w.raw(std::string(1, static_cast<char>(i - 16)));
  return w.bytes;
}

void gguf_seeds(const fs::path& data, const fs::path& dir) {
  fs::copy_file(data / "qwen2" / "gguf" / "model-q8_0.gguf", dir / "model-q8_0.gguf", fs::copy_options::overwrite_existing);
  write(dir / "small.gguf", small_gguf(258, 1));
  write(dir / "huge_token_count.gguf", small_gguf(0xffffffffffffffff, 1));
  write(dir / "huge_block_count.gguf", small_gguf(258, 2000000000));
  GgufWriter many_tensors;
  many_tensors.raw("GGUF").u32(3).u64(0xffffffffffffffff).u64(0xffffffffffffffff);
  write(dir / "huge_counts.gguf", many_tensors.bytes);
}

void text_seeds(const fs::path& data, const fs::path& dir) {
  write(dir / "tiny_input.txt", read(data / "tokenizer" / "tiny_input.txt"));
  write(dir / "crlf.txt", "first line\r\n\r\n \t \r\nsecond\r\nno newline at the end");
  write(dir / "long_line.txt", std::string(20000, 'x') + "\n\xff\xfe\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " <tests/data> <tests/fuzz/corpus>\n";
    return 2;
  }
  const fs::path data = argv[1], corpus = argv[2];
  for (const char* name : {"safetensors", "checkpoint", "qwen2_config", "tokenizer_json", "tokenizer_encode", "npy",
                           "head_checkpoint", "knowledge_delta", "gguf", "text_lines"})
    fs::create_directories(corpus / name);
  safetensors_seeds(corpus / "safetensors");
  checkpoint_seeds(corpus / "checkpoint");
  config_seeds(data, corpus / "qwen2_config");
  tokenizer_seeds(data, corpus / "tokenizer_json", corpus / "tokenizer_encode");
  npy_seeds(corpus / "npy");
  head_seeds(corpus / "head_checkpoint", corpus / "knowledge_delta");
  gguf_seeds(data, corpus / "gguf");
  text_seeds(data, corpus / "text_lines");
  return 0;
}
