#pragma once
// The files of a causal model directory, and loading one for inference.
//
// A causal model directory is a Hugging Face Qwen2 checkpoint — config.json, model.safetensors,
// tokenizer.json — whose embedding already holds the <NUM> row, plus the two causal parts:
// causal_head.safetensors (head/checkpoint.hpp) and value_encoding.safetensors (the learned
// parameters of the <NUM> value encoding, with the encoding's name in the metadata so that a file
// of one form is never read as the other). TrainableCausalLM::save writes it.

#include <causalqwen/backbone/qwen2_config.hpp>
#include <causalqwen/backbone/qwen2_gguf.hpp>
#include <causalqwen/backbone/qwen2_parameters.hpp>
#include <causalqwen/backbone/qwen2_training.hpp>
#include <causalqwen/backend/backend.hpp>
#include <causalqwen/core/atomic_file.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/head/checkpoint.hpp>
#include <causalqwen/head/parameters.hpp>
#include <causalqwen/io/checkpoint.hpp>
#include <causalqwen/io/dtype.hpp>
#include <causalqwen/io/file.hpp>
#include <causalqwen/io/safetensors.hpp>
#include <causalqwen/model/causal_lm.hpp>
#include <causalqwen/model/value_encoding.hpp>
#include <causalqwen/tokenizer/gguf_tokenizer.hpp>
#include <causalqwen/tokenizer/numbers.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace causalqwen::model {

inline constexpr std::string_view kCausalHeadFile = "causal_head.safetensors";
inline constexpr std::string_view kValueEncodingFile = "value_encoding.safetensors";
inline constexpr std::string_view kValueEncodingFormat = "causalqwen.value_encoding/1";

/// Writes the Hugging Face part of a trainable model's directory, each file atomically:
/// config.json (its vocab_size the embedding's rows, <NUM>'s included), model.safetensors with the
/// weights as `weights` (F32 keeps master weights exactly, BF16 halves the file) and tokenizer.json.
template <Backend B>
void save_qwen2_directory(const std::filesystem::path& directory, const TrainableQwen2<B>& backbone,
                          std::string_view tokenizer_json, io::DType weights) {
  using T = typename B::scalar_type;
  require(weights == io::DType::F32 || weights == io::DType::BF16 || weights == io::DType::F16, directory.string(),
          ": weights are written as F32, BF16 or F16, not ", io::dtype_name(weights));
  std::filesystem::create_directories(directory);
  Qwen2Config config = backbone.config();
  config.vocab_size = backbone.vocab_size();
  write_file_atomically(directory / "config.json", qwen2_config_json(config));
  io::SafetensorsWriter model;
  model.set_metadata("format", "pt");
  for_each_qwen2_tensor(backbone.parameters(), [&](const std::string& name, auto view, const std::vector<std::int64_t>& shape) {
    if (shape.size() == 1) model.add_as(name, weights, Vector<T>(view.row(0).transpose()));
    else model.add_as(name, weights, RowMatrix<T>(view));
  });
  model.write(directory / std::string(io::Checkpoint::single_file));
  write_file_atomically(directory / "tokenizer.json", tokenizer_json);
}

/// What a trainable model reads of a Hugging Face Qwen2 directory: the tokenizer.json text and
/// the parameters, widened to T.
template <Real T>
struct Qwen2Directory {
  std::filesystem::path tokenizer_file;
  std::string tokenizer_json;
  Qwen2Parameters<T> parameters;
};

template <Real T>
Qwen2Directory<T> read_qwen2_directory(const std::filesystem::path& directory) {
  Qwen2Directory<T> out;
  out.tokenizer_file = directory / "tokenizer.json";
  out.tokenizer_json = io::read_file(out.tokenizer_file, "tokenizer file");
  out.parameters = load_qwen2_parameters<T>(load_qwen2_config(directory / "config.json"), io::Checkpoint(directory),
                                            directory.string());
  return out;
}

/// Writes the learned parameters of `encoding` (atomically).
template <TrainableValueEncoding E>
void save_value_encoding(const E& encoding, const std::filesystem::path& file) {
  using T = typename E::scalar_type;
  io::SafetensorsWriter writer;
  writer.set_metadata("format", std::string(kValueEncodingFormat));
  writer.set_metadata("encoding", std::string(E::name()));
  const auto learned = encoding.params();
  head::for_each_block(learned, [&](const std::string& name, const auto& block) {
    writer.add(name, Vector<T>(block.transpose()));
  });
  writer.write(file);
}

/// The encoding saved in `file` for a model of hidden size `hidden`; a file written for another
/// encoding or size is refused naming the file and the field.
template <TrainableValueEncoding E>
E load_value_encoding(const std::filesystem::path& file, std::size_t hidden) {
  using T = typename E::scalar_type;
  const io::SafetensorsReader reader(file);
  const auto& metadata = reader.metadata();
  const auto encoding = metadata.find("encoding");
  require(encoding != metadata.end() && encoding->second == E::name(), file.string(), ": metadata field 'encoding' is '",
          encoding == metadata.end() ? std::string("(missing)") : encoding->second, "', this model uses '", E::name(),
          "'");
  typename E::params_type params;
  head::for_each_block(params, [&](const std::string& name, auto& block) {
    const Vector<T> stored = reader.vector<T>(name);
    require(std::size_t(stored.size()) == hidden, file.string(), ": tensor '", name, "' has ", stored.size(),
            " entries, the model's hidden size is ", hidden);
    block = stored.transpose();
  });
  try {
    return E(std::move(params));
  } catch (const error& e) {
    fail(file.string(), ": ", e.what());
  }
}

/// A causal model for inference from `path`: a causal model directory (its trained head and
/// encoding are used), or any Qwen2 checkpoint the backbone loads — a Hugging Face directory or a
/// GGUF file — which is then initialised from its lm_head as CausalLM::from_base does.
template <class Model = CausalLM<Qwen2<>>>
Model load_causal_lm(const std::filesystem::path& path,
                     typename Model::backend_type backend = typename Model::backend_type(),
                     WeightFormat format = WeightFormat::as_stored) {
  using T = typename Model::scalar_type;
  using Head = typename Model::head_type;
  using Encoding = typename Model::encoding_type;
  const std::filesystem::path head_file = path / kCausalHeadFile;
  // The tokenizer first, and the heap its JSON parse freed (a million small nodes at the Qwen
  // vocabulary) handed back before the backbone is loaded: glibc keeps it otherwise, and loading
  // the other way round put ~50 MB on the peak of a 1.3 GB model.
  Tokenizer tokenizer = load_tokenizer(path);
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
  if (!std::filesystem::is_directory(path) || !std::filesystem::exists(head_file))
    return Model::from_base(std::move(tokenizer), load_qwen2(path, std::move(backend), format));
  const TokenId num = num_token_id(tokenizer);
  auto backbone = load_qwen2(path, std::move(backend), format);
  const std::size_t hidden = backbone.hidden_size();
  Head head = head::load_head<T, typename Head::link_type, typename Head::threshold_policy>(
      head_file, head::HeadShape{hidden, hidden, std::size_t(num)});
  Encoding encoding = load_value_encoding<Encoding>(path / kValueEncodingFile, hidden);
  return Model(std::move(tokenizer), std::move(backbone), std::move(head), std::move(encoding));
}

}  // namespace causalqwen::model
