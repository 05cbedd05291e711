#pragma once
// What resuming a head's training needs, as two files written atomically:
//   <checkpoint>            the head (head/checkpoint.hpp; loadable on its own, e.g. to generate),
//   <checkpoint>.optimizer  AdamW's moments and step count, with the training step reached and a
//                           hash of the head's parameters, so that a head from another run is refused.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/head/checkpoint.hpp>
#include <causalqwen/head/parameters.hpp>
#include <causalqwen/io/safetensors.hpp>
#include <causalqwen/train/adamw.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

namespace causalqwen::train {

/// FNV-1a over every parameter's bytes: ties an optimizer file to the head it was saved with.
template <head::ParameterSet P>
std::uint64_t parameter_hash(const P& params) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  head::for_each_block(params, [&](const std::string&, const auto& block) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(block.data());
    for (std::size_t i = 0; i < static_cast<std::size_t>(block.size()) * sizeof(*block.data()); ++i)
      h = (h ^ bytes[i]) * 0x100000001b3ULL;
  });
  return h;
}

inline std::filesystem::path optimizer_file(const std::filesystem::path& checkpoint) {
  return std::filesystem::path(checkpoint.string() + ".optimizer");
}

/// Writes AdamW's moments and step count to `file` (atomically), tagged with the training `step`
/// reached and the hash of the parameters they belong to (parameter_hash).
template <head::ParameterSet P>
void save_optimizer_state(const AdamW<P>& optimizer, std::size_t step, std::uint64_t params_hash,
                          const std::filesystem::path& file) {
  const auto state = optimizer.state();
  io::SafetensorsWriter writer;
  writer.set_metadata("format", "causalqwen.adamw/1");
  writer.set_metadata("step", std::to_string(step));
  writer.set_metadata("optimizer_steps", std::to_string(state.steps));
  writer.set_metadata("params_hash", std::to_string(params_hash));
  const auto names = P::block_names();
  for (std::size_t i = 0; i < state.first.size(); ++i) {
    writer.add("first." + names[i], Vector<typename P::scalar_type>(state.first[i].matrix()));
    writer.add("second." + names[i], Vector<typename P::scalar_type>(state.second[i].matrix()));
  }
  writer.write(file);
}

/// Restores `optimizer` from a file of save_optimizer_state whose parameters hash to
/// `params_hash`; returns the training step reached.
template <head::ParameterSet P>
std::size_t load_optimizer_state(AdamW<P>& optimizer, std::uint64_t params_hash, const std::filesystem::path& file,
                                 std::string_view parameters_source) {
  using T = typename P::scalar_type;
  const io::SafetensorsReader reader(file);
  const auto field = [&](const char* key) -> std::uint64_t {
    const auto it = reader.metadata().find(key);
    require(it != reader.metadata().end(), file.string(), ": metadata field '", key, "' missing");
    try {
      return std::stoull(it->second);
    } catch (const std::exception&) {
      fail(file.string(), ": metadata field '", key, "' is not a number: '", it->second, "'");
    }
  };
  require(field("params_hash") == params_hash, file.string(), " does not belong to the parameters in ",
          parameters_source);
  typename AdamW<P>::State state;
  state.steps = field("optimizer_steps");
  for (const auto& name : P::block_names()) {
    state.first.push_back(reader.vector<T>("first." + name).array());
    state.second.push_back(reader.vector<T>("second." + name).array());
  }
  try {
    optimizer.restore(std::move(state));
  } catch (const error& e) {
    fail(file.string(), ": ", e.what());
  }
  return field("step");
}

/// Writes the head to `checkpoint` and the optimizer's state, tagged with `step`, beside it.
template <class Head>
void save_training_state(const Head& head, const AdamW<typename Head::params_type>& optimizer, std::size_t step,
                         const std::filesystem::path& checkpoint) {
  save_optimizer_state(optimizer, step, parameter_hash(head.params()), optimizer_file(checkpoint));
  head::save_head(head, checkpoint);
}

/// Restores head and optimizer from the files of save_training_state; returns the step reached.
/// The head's shape (H, D, K+1) must match the checkpoint's.
template <class Head>
std::size_t load_training_state(Head& head, AdamW<typename Head::params_type>& optimizer,
                                const std::filesystem::path& checkpoint) {
  using T = typename Head::params_type::scalar_type;
  const head::HeadShape shape{head.hidden_size(), head.latent_size(), head.classes() - 1};
  Head loaded = head::load_head<T, typename Head::link_type, typename Head::threshold_policy>(checkpoint, shape);
  const std::size_t step =
      load_optimizer_state(optimizer, parameter_hash(loaded.params()), optimizer_file(checkpoint), checkpoint.string());
  head = std::move(loaded);
  return step;
}

}  // namespace causalqwen::train
