// The GGUF reader on files llama.cpp's writer made (tests/data/qwen2/gguf), and on copies of them
// with one field broken: each must end in the library's error naming the file and the field.
#include "../support/errors.hpp"
#include "../support/gguf_bytes.hpp"
#include "../support/scratch.hpp"

#include <causalqwen/io/gguf.hpp>
#include <causalqwen/io/safetensors.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace causalqwen_tests_io_gguf {

namespace fs = std::filesystem;
using namespace causalqwen;
using causalqwen::testing::error_of;
using causalqwen::testing::GgufBytes;

namespace {

const fs::path data_dir = fs::path(CAUSALQWEN_TEST_DATA_DIR) / "qwen2";
const fs::path f32_file = data_dir / "gguf" / "model-f32.gguf";
const fs::path q8_file = data_dir / "gguf" / "model-q8_0.gguf";
const fs::path scratch = causalqwen::testing::scratch_directory(__FILE__);

/// The error of reading `bytes` written to a scratch file; checks that it names the file.
std::string read_error(const GgufBytes& bytes, const std::string& stem = "broken") {
  const fs::path file = bytes.write(scratch / (stem + ".gguf"));
  const std::string message = error_of([&] { io::GgufReader reader(file); });
  CHECK_MESSAGE(message.find(file.string()) != std::string::npos, "error does not name the file: ", message);
  return message;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("the header, metadata and tensor infos of a llama.cpp-written file") {
  const io::GgufReader file(q8_file);
  CHECK(file.version() == 3);
  CHECK(file.alignment() == 32);
  CHECK(file.string("general.architecture") == "qwen2");
  CHECK(file.unsigned_integer("qwen2.block_count") == 2);
  CHECK(file.integer("qwen2.attention.head_count_kv") == 2);
  CHECK(file.number("qwen2.rope.freq_base") == 10000.0);
  CHECK(file.number("qwen2.attention.layer_norm_rms_epsilon") == static_cast<double>(1e-6f));
  CHECK_FALSE(file.boolean("tokenizer.ggml.add_bos_token"));
  CHECK(file.strings("tokenizer.ggml.tokens").size() == 256);
  CHECK(file.strings("tokenizer.ggml.tokens")[0] == "\xc4\x80");  // the byte-level symbol of byte 0
  const std::vector<std::int64_t> types = file.integers("tokenizer.ggml.token_type");
  CHECK(types == std::vector<std::int64_t>(256, 1));
  CHECK(file.keys().size() == 18);

  CHECK(file.tensors().size() == 26);
  const io::GgufTensor& embedding = file.tensor("token_embd.weight");
  CHECK(embedding.type == io::GgmlType::q8_0);
  CHECK(embedding.shape == std::vector<std::int64_t>{256, 64});  // ne = {64, 256}
  CHECK(embedding.bytes.size() == 256 * 64 / 32 * 34);
  CHECK(file.tensor("blk.0.ffn_down.weight").type == io::GgmlType::f16);
  CHECK(file.tensor("blk.0.ffn_down.weight").shape == std::vector<std::int64_t>{64, 176});
  CHECK(file.tensor("output_norm.weight").shape == std::vector<std::int64_t>{64});
  CHECK_FALSE(file.contains("output.weight"));

  // Wrong-type and missing keys name the key.
  CHECK(contains(error_of([&] { file.string("qwen2.block_count"); }), "'qwen2.block_count' is u32, expected a string"));
  CHECK(contains(error_of([&] { file.integers("tokenizer.ggml.tokens"); }), "array of string"));
  CHECK(contains(error_of([&] { file.number("qwen2.nothing"); }), "'qwen2.nothing' is missing"));
  CHECK(contains(error_of([&] { file.tensor("output.weight"); }), "no tensor named 'output.weight'"));
}

TEST_CASE("F32 tensors equal the safetensors checkpoint's; Q8_0 dequantises block by block") {
  const io::GgufReader f32(f32_file), q8(q8_file);
  const io::SafetensorsReader reference(data_dir / "model.safetensors");
  const RowMatrix<float> expected = reference.matrix<float>("model.layers.0.self_attn.q_proj.weight");
  const io::GgufTensor& stored = f32.tensor("blk.0.attn_q.weight");
  RowMatrix<float> values(stored.shape[0], stored.shape[1]);
  io::to_float(stored, values.data());
  CHECK(values == expected);

  // Q8_0: every value is scale * q with q an int8, within half a step of the original plus what
  // rounding the scale to f16 (relative 2^-11, times |q| <= 127) adds.
  const io::GgufTensor& quantised = q8.tensor("blk.0.attn_q.weight");
  REQUIRE(quantised.type == io::GgmlType::q8_0);
  RowMatrix<float> dequantised(quantised.shape[0], quantised.shape[1]);
  io::to_float(quantised, dequantised.data());
  for (Eigen::Index block = 0; block < dequantised.size() / 32; ++block) {
    std::uint16_t scale_bits;
    std::memcpy(&scale_bits, quantised.bytes.data() + block * 34, 2);
    const float scale = io::f16_to_float(scale_bits);
    for (Eigen::Index j = 0; j < 32; ++j) {
      const Eigen::Index i = block * 32 + j;
      const float q = dequantised.data()[i] / scale;
      REQUIRE(q == std::round(q));
      REQUIRE(std::abs(dequantised.data()[i] - expected.data()[i]) <= (0.5f + 127.0f / 2048) * scale);
    }
  }
}

TEST_CASE("BF16 tensors are views of their bits") {
  // ffn_down is F16 in the Q8_0 file; marked BF16 (same element size) its bits read as bfloat16.
  const std::string down = "blk.0.ffn_down.weight";
  const GgufBytes good(q8_file);
  const io::GgufReader file(GgufBytes(good).put(good.type_at(down), std::uint32_t{30}).write(scratch / "bf16.gguf"));
  const io::GgufTensor& tensor = file.tensor(down);
  REQUIRE(tensor.type == io::GgmlType::bf16);
  CHECK(io::stored_dtype(tensor.type) == io::DType::BF16);
  std::vector<float> values(static_cast<std::size_t>(tensor.element_count()));
  io::to_float(tensor, values.data());
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint16_t bits;
    std::memcpy(&bits, tensor.bytes.data() + 2 * i, 2);
    REQUIRE(values[i] == io::bf16_to_float(bits));
  }
}

TEST_CASE("a file truncated anywhere is rejected") {
  const GgufBytes good(q8_file);
  const std::size_t data_start = 5760;  // 5753 bytes of header and infos, padded to 32
  REQUIRE(good.bytes.size() == 144512);
  std::vector<std::size_t> lengths;
  // Every length through the header and the first keys, then every 7th through the tables.
  for (std::size_t n = 0; n < 640; ++n) lengths.push_back(n);
  for (std::size_t n = 640; n < data_start + 64; n += 7) lengths.push_back(n);
  for (std::size_t n = data_start + 64; n < good.bytes.size(); n += 997) lengths.push_back(n);
  lengths.push_back(good.bytes.size() - 1);
  std::size_t rejected = 0;
  for (const std::size_t n : lengths) {
    GgufBytes cut = good;
    cut.bytes.resize(n);
    const fs::path file = cut.write(scratch / "truncated.gguf");
    const std::string message = error_of([&] { io::GgufReader reader(file); });
    if (!message.empty() && contains(message, file.string())) ++rejected;
    else FAIL_CHECK("truncated to ", n, " bytes: ", (message.empty() ? "accepted" : message));
  }
  CHECK(rejected == lengths.size());
  CHECK(contains(read_error(GgufBytes(good).put<std::uint64_t>(0, 0)), "magic"));
}

TEST_CASE("lying counts are rejected before anything is allocated for them") {
  const GgufBytes good(q8_file);
  for (const std::uint64_t count : {std::uint64_t{1} << 62, std::numeric_limits<std::uint64_t>::max(), std::uint64_t{20'000}}) {
    CHECK(contains(read_error(GgufBytes(good).put(GgufBytes::value_count_at, count)), "metadata count"));
    CHECK(contains(read_error(GgufBytes(good).put(GgufBytes::tensor_count_at, count)), "tensor count"));
  }
  // One entry more than written: the reader runs into the next table and stops there.
  CHECK_FALSE(read_error(GgufBytes(good).put(GgufBytes::value_count_at, std::uint64_t{19})).empty());
  CHECK_FALSE(read_error(GgufBytes(good).put(GgufBytes::tensor_count_at, std::uint64_t{27})).empty());
  // Fewer tensors than written: the rest of the infos are taken for data that no tensor claims.
  CHECK_FALSE(read_error(GgufBytes(good).put(GgufBytes::tensor_count_at, std::uint64_t{25})).empty());

  const std::size_t tokens = good.after("tokenizer.ggml.tokens");  // type, element type, count
  const std::string huge_array = read_error(GgufBytes(good).put(tokens + 8, std::uint64_t{1} << 60));
  CHECK(contains(huge_array, "'tokenizer.ggml.tokens': array of 1152921504606846976 string cannot fit"));
  const std::size_t types = good.after("tokenizer.ggml.token_type");
  CHECK(contains(read_error(GgufBytes(good).put(types + 8, std::uint64_t{1} << 61)), "'tokenizer.ggml.token_type'"));
}

TEST_CASE("string lengths past the end of the file are rejected") {
  const GgufBytes good(q8_file);
  for (const std::uint64_t length : {std::uint64_t{1} << 40, std::numeric_limits<std::uint64_t>::max(), std::uint64_t{200'000}}) {
    // A key, a string value, an element of a string array, a tensor name.
    CHECK(contains(read_error(GgufBytes(good).put(good.length_at("general.name"), length)), "metadata key #1"));
    const std::size_t architecture = good.after("general.architecture") + 4;
    CHECK(contains(read_error(GgufBytes(good).put(architecture, length)), "key 'general.architecture'"));
    const std::size_t first_token = good.after("tokenizer.ggml.tokens") + 16;
    CHECK(contains(read_error(GgufBytes(good).put(first_token, length)), "key 'tokenizer.ggml.tokens'[0]"));
    CHECK(contains(read_error(GgufBytes(good).put(good.length_at("token_embd.weight"), length)), "tensor #0 name"));
  }
  CHECK(contains(read_error(GgufBytes(good).put(good.length_at("general.name"), std::uint64_t{0})), "key #1 is empty"));
}

TEST_CASE("unknown, nested and mistyped values are rejected") {
  const GgufBytes good(q8_file);
  const std::size_t block_count = good.after("qwen2.block_count");
  CHECK(contains(read_error(GgufBytes(good).put(block_count, std::uint32_t{13})), "'qwen2.block_count' has unknown value type 13"));
  const std::size_t tokens = good.after("tokenizer.ggml.tokens");
  CHECK(contains(read_error(GgufBytes(good).put(tokens + 4, std::uint32_t{99})), "unknown array element type 99"));
  CHECK(contains(read_error(GgufBytes(good).put(tokens + 4, std::uint32_t{9})), "array of arrays"));
  const std::size_t add_bos = good.after("tokenizer.ggml.add_bos_token");
  CHECK(contains(read_error(GgufBytes(good).put(add_bos + 4, std::uint8_t{2})), "'tokenizer.ggml.add_bos_token' is a bool"));
  CHECK(contains(read_error(GgufBytes(good).replace("tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id")),
                 "'tokenizer.ggml.eos_token_id' appears twice"));
}

TEST_CASE("the version must be 2 or 3 and little-endian") {
  const GgufBytes good(q8_file);
  CHECK_NOTHROW(io::GgufReader(GgufBytes(good).put(GgufBytes::version_at, std::uint32_t{2}).write(scratch / "v2.gguf")));
  CHECK(contains(read_error(GgufBytes(good).put(GgufBytes::version_at, std::uint32_t{1})), "version 1 is not supported"));
  CHECK(contains(read_error(GgufBytes(good).put(GgufBytes::version_at, std::uint32_t{4})), "version 4"));
  CHECK(contains(read_error(GgufBytes(good).put(GgufBytes::version_at, std::uint32_t{0x03000000})), "big-endian"));
}

TEST_CASE("general.alignment must be a u32 power of two that the offsets respect") {
  const GgufBytes good(q8_file);
  // general.file_type has the length of general.alignment and is a u32 (value 7).
  GgufBytes renamed = GgufBytes(good).replace("general.file_type", "general.alignment");
  const std::size_t value = renamed.after("general.alignment") + 4;
  CHECK(contains(read_error(renamed, "alignment7"), "'general.alignment' is 7, expected a power of two"));
  CHECK(contains(read_error(GgufBytes(renamed).put(value, std::uint32_t{0})), "'general.alignment' is 0"));
  CHECK(contains(read_error(GgufBytes(renamed).put(value, std::uint32_t{4096})),
                 "tensor 'blk.0.attn_norm.weight' has offset 17408, not a multiple of the alignment 4096"));
  const io::GgufReader aligned(GgufBytes(renamed).put(value, std::uint32_t{32}).write(scratch / "aligned.gguf"));
  CHECK(aligned.alignment() == 32);
  CHECK(contains(read_error(GgufBytes(renamed).put(value - 4, std::uint32_t{5})), "'general.alignment' is i32, expected u32"));
}

TEST_CASE("misaligned, out-of-range and overlapping tensor data are rejected") {
  const GgufBytes good(q8_file);
  const std::string q = "blk.0.attn_q.weight";
  const std::uint64_t offset = good.get<std::uint64_t>(good.offset_at(q));
  CHECK(contains(read_error(GgufBytes(good).put(good.offset_at(q), offset + 4)),
                 "tensor '" + q + "' has offset " + std::to_string(offset + 4) + ", not a multiple of the alignment 32"));
  CHECK(contains(read_error(GgufBytes(good).put(good.offset_at(q), std::uint64_t{1} << 62)), "runs past the data section"));
  CHECK(contains(read_error(GgufBytes(good).put(good.offset_at("output_norm.weight"), std::uint64_t{138496 + 32})),
                 "runs past the data section"));
  CHECK(contains(read_error(GgufBytes(good).put(good.offset_at(q), std::uint64_t{0})), "overlaps tensor 'token_embd.weight'"));
  // attn_norm of 32 instead of 64 floats leaves a hole before attn_q.
  CHECK(contains(read_error(GgufBytes(good).put(good.extent_at("blk.0.attn_norm.weight", 0), std::uint64_t{32})),
                 "belong to no tensor (before tensor 'blk.0.attn_q.weight')"));
  GgufBytes trailing = good;
  trailing.bytes.append(32, '\0');
  CHECK(contains(read_error(trailing), "trailing bytes"));
}

TEST_CASE("unknown types, bad ranks and overflowing shapes are rejected") {
  const GgufBytes good(q8_file);
  const std::string q = "blk.0.attn_q.weight";
  CHECK(contains(read_error(GgufBytes(good).put(good.type_at(q), std::uint32_t{99})), "tensor '" + q + "' has unknown ggml type 99"));
  CHECK(contains(read_error(GgufBytes(good).put(good.type_at(q), std::uint32_t{12})), "has type Q4_K, not supported"));
  CHECK(contains(read_error(GgufBytes(good).put(good.rank_at(q), std::uint32_t{0})), "has rank 0"));
  CHECK(contains(read_error(GgufBytes(good).put(good.rank_at(q), std::uint32_t{5})), "has rank 5"));
  for (const std::uint64_t extent : {std::uint64_t{1} << 62, std::numeric_limits<std::uint64_t>::max()}) {
    CHECK(contains(read_error(GgufBytes(good).put(good.extent_at(q, 0), extent).put(good.extent_at(q, 1), extent)),
                   "tensor '" + q + "': shape overflows"));
  }
  // 2^62 F32 elements fit int64, their 2^64 bytes do not fit a u64.
  const std::string norm = "output_norm.weight";
  CHECK(contains(read_error(GgufBytes(good).put(good.extent_at(norm, 0), std::uint64_t{1} << 62)), "shape overflows"));
  CHECK(contains(read_error(GgufBytes(good).put(good.extent_at(q, 0), std::uint64_t{48})), "rows of 48 elements, not a multiple of 32"));
  CHECK(contains(read_error(GgufBytes(good).replace("blk.1.attn_norm.weight", "blk.0.attn_norm.weight")),
                 "tensor 'blk.0.attn_norm.weight' appears twice"));
}

TEST_CASE("is_gguf_file looks at the content") {
  CHECK(io::is_gguf_file(q8_file));
  CHECK_FALSE(io::is_gguf_file(data_dir / "model.safetensors"));
  CHECK_FALSE(io::is_gguf_file(data_dir));
  CHECK_FALSE(io::is_gguf_file(data_dir / "no such file"));
}

}  // namespace causalqwen_tests_io_gguf
