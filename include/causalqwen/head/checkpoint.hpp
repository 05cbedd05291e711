#pragma once
// Saving and loading every parameter of a causal head as one safetensors file (written
// atomically). Tensors are named like the parameter blocks ("abduction.loc_weight", ...,
// "action.class_weight", ..., "noise.b_noise") and stored in the head's own precision, so a
// reload reproduces the outputs bit for bit. Metadata records what the numbers mean:
//   format = causalqwen.head/1, scale_link, thresholds, H, D, K (classes without <NUM>),
//   inference_mode, temperature (shortest round-trip decimal).
// Loading checks the metadata against the head type (a file written with another scale link is
// refused, not reinterpreted) and against every tensor's shape; any problem, including a
// truncated or corrupt file, is a causalqwen::error that names the file.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/causal_head.hpp>
#include <causalqwen/head/inference.hpp>
#include <causalqwen/head/parameters.hpp>
#include <causalqwen/io/metadata.hpp>
#include <causalqwen/io/safetensors.hpp>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <limits>
#include <string>
#include <string_view>

namespace causalqwen::head {

inline constexpr std::string_view kHeadFormat = "causalqwen.head/1";
inline constexpr std::string_view kHeadKind = "causal head checkpoint";  ///< in error messages

/// Sizes of a head: H, D and K (the number of classes without <NUM>).
struct HeadShape {
  std::size_t hidden = 0;
  std::size_t latent = 0;
  std::size_t classes_without_num = 0;
  bool operator==(const HeadShape&) const = default;
};

template <Real T, ScaleLinkPolicy Link, ThresholdPolicy Thresholds>
void save_head(const CausalHead<T, Link, Thresholds>& head, const std::filesystem::path& file) {
  io::SafetensorsWriter writer;
  writer.set_metadata("format", std::string(kHeadFormat));
  writer.set_metadata("scale_link", std::string(Link::name()));
  writer.set_metadata("thresholds", std::string(Thresholds::name()));
  writer.set_metadata("H", std::to_string(head.hidden_size()));
  writer.set_metadata("D", std::to_string(head.latent_size()));
  writer.set_metadata("K", std::to_string(head.classes() - 1));
  writer.set_metadata("inference_mode", std::string(to_string(head.noise_settings().mode)));
  writer.set_metadata("temperature", io::shortest(head.noise_settings().temperature));
  const auto params = head.params();
  for_each_block(params, [&](const std::string& name, const auto& block) { writer.add(name, block); });
  writer.write(file);
}

/// Loads a head saved by save_head; `expected` (if given) must match the file's H, D, K.
template <Real T, ScaleLinkPolicy Link = ExpLink, ThresholdPolicy Thresholds = LearnedThresholds>
CausalHead<T, Link, Thresholds> load_head(const std::filesystem::path& file,
                                          std::optional<HeadShape> expected = std::nullopt) {
  const io::SafetensorsReader reader(file);
  const std::string where = file.string();
  const std::string& format = io::required_metadata(reader, kHeadKind, "format");
  require(format == kHeadFormat, where, ": checkpoint format '", format, "', expected '", kHeadFormat, "'");
  const std::string& link = io::required_metadata(reader, kHeadKind, "scale_link");
  require(link == Link::name(), where, ": saved with scale link '", link, "' but loaded as a head with scale link '",
          Link::name(), "'");
  const std::string& thresholds = io::required_metadata(reader, kHeadKind, "thresholds");
  require(thresholds == Thresholds::name(), where, ": saved with '", thresholds,
          "' thresholds but loaded as a head with '", Thresholds::name(), "' thresholds");
  const HeadShape shape{io::metadata_number<std::size_t>(reader, kHeadKind, "H"),
                        io::metadata_number<std::size_t>(reader, kHeadKind, "D"),
                        io::metadata_number<std::size_t>(reader, kHeadKind, "K")};
  require(shape.hidden > 0 && shape.latent > 0 && shape.classes_without_num > 0, where,
          ": metadata sizes must be > 0 (H = ", shape.hidden, ", D = ", shape.latent, ", K = ",
          shape.classes_without_num, ")");
  if (expected)
    require(*expected == shape, where, ": head has H = ", shape.hidden, ", D = ", shape.latent, ", K = ",
            shape.classes_without_num, "; expected H = ", expected->hidden, ", D = ", expected->latent, ", K = ",
            expected->classes_without_num);
  NoiseSettings<T> settings{parse_inference_mode(io::required_metadata(reader, kHeadKind, "inference_mode")),
                            io::metadata_number<T>(reader, kHeadKind, "temperature")};

  require(shape.classes_without_num < std::numeric_limits<std::size_t>::max(), where, ": metadata K = ",
          shape.classes_without_num, " is too large");
  const std::string sizes = "H = " + std::to_string(shape.hidden) + ", D = " + std::to_string(shape.latent) +
                            ", K = " + std::to_string(shape.classes_without_num);
  // Every size appears as an extent of these two tensors; checking them first bounds what follows.
  io::require_tensor_shape(reader, "abduction.loc_weight", {shape.latent, shape.hidden}, sizes);
  io::require_tensor_shape(reader, "action.class_weight", {shape.classes_without_num + 1, shape.latent}, sizes);
  HeadParams<T> params{AbductionParams<T>::zeros(shape.hidden, shape.latent),
                       ActionParams<T>::zeros(shape.classes_without_num + 1, shape.latent),
                       Vector<T>::Zero(static_cast<Eigen::Index>(shape.latent))};
  io::require_only_tensors(reader, HeadParams<T>::block_names(), kHeadKind);
  for_each_block(params, [&](const std::string& name, auto& block) { io::read_sized(reader, name, block, sizes); });
  try {
    auto abduction = AbductionNetwork<T, Link>(std::move(params.abduction));
    auto action = ActionNetwork<T, Thresholds>(std::move(params.action));
    return CausalHead<T, Link, Thresholds>(std::move(abduction), std::move(action), std::move(params.b_noise),
                                           settings);
  } catch (const error& e) {
    fail(where, ": ", e.what());
  }
}

}  // namespace causalqwen::head
