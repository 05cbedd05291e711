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
#include <causalqwen/io/safetensors.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace causalqwen::head {

inline constexpr std::string_view kHeadFormat = "causalqwen.head/1";

/// Sizes of a head: H, D and K (the number of classes without <NUM>).
struct HeadShape {
  std::size_t hidden = 0;
  std::size_t latent = 0;
  std::size_t classes_without_num = 0;
  bool operator==(const HeadShape&) const = default;
};

namespace detail {
template <Real T>
std::string shortest(T value) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

inline const std::string& metadata_field(const io::SafetensorsReader& reader, const std::string& key) {
  const auto& m = reader.metadata();
  const auto found = m.find(key);
  require(found != m.end(), reader.path().string(), ": not a causal head checkpoint (metadata field '", key,
          "' missing)");
  return found->second;
}

template <class Number>
Number parse_field(const io::SafetensorsReader& reader, const std::string& key) {
  const std::string& text = metadata_field(reader, key);
  Number value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  require(ec == std::errc() && end == text.data() + text.size(), reader.path().string(), ": metadata field '", key,
          "' is not a number: '", text, "'");
  return value;
}
}  // namespace detail

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
  writer.set_metadata("temperature", detail::shortest(head.noise_settings().temperature));
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
  const std::string& format = detail::metadata_field(reader, "format");
  require(format == kHeadFormat, where, ": checkpoint format '", format, "', expected '", kHeadFormat, "'");
  const std::string& link = detail::metadata_field(reader, "scale_link");
  require(link == Link::name(), where, ": saved with scale link '", link, "' but loaded as a head with scale link '",
          Link::name(), "'");
  const std::string& thresholds = detail::metadata_field(reader, "thresholds");
  require(thresholds == Thresholds::name(), where, ": saved with '", thresholds,
          "' thresholds but loaded as a head with '", Thresholds::name(), "' thresholds");
  const HeadShape shape{detail::parse_field<std::size_t>(reader, "H"), detail::parse_field<std::size_t>(reader, "D"),
                        detail::parse_field<std::size_t>(reader, "K")};
  require(shape.hidden > 0 && shape.latent > 0 && shape.classes_without_num > 0, where,
          ": metadata sizes must be > 0 (H = ", shape.hidden, ", D = ", shape.latent, ", K = ",
          shape.classes_without_num, ")");
  if (expected)
    require(*expected == shape, where, ": head has H = ", shape.hidden, ", D = ", shape.latent, ", K = ",
            shape.classes_without_num, "; expected H = ", expected->hidden, ", D = ", expected->latent, ", K = ",
            expected->classes_without_num);
  NoiseSettings<T> settings{parse_inference_mode(detail::metadata_field(reader, "inference_mode")),
                            detail::parse_field<T>(reader, "temperature")};

  HeadParams<T> params{AbductionParams<T>::zeros(shape.hidden, shape.latent),
                       ActionParams<T>::zeros(shape.classes_without_num + 1, shape.latent),
                       Vector<T>::Zero(static_cast<Eigen::Index>(shape.latent))};
  const auto names = HeadParams<T>::block_names();
  for (const auto& name : reader.names())
    require(std::find(names.begin(), names.end(), name) != names.end(), where, ": unexpected tensor '", name,
            "' in a causal head checkpoint");
  for_each_block(params, [&](const std::string& name, auto& block) {
    using Block = std::decay_t<decltype(block)>;
    const auto& view = reader.tensor(name);
    const bool is_vector = std::is_same_v<Block, Vector<T>>;
    const bool shape_ok = is_vector ? view.shape.size() == 1 && view.shape[0] == block.size()
                                    : view.shape.size() == 2 && view.shape[0] == block.rows() &&
                                          view.shape[1] == block.cols();
    require(shape_ok, where, ": tensor '", name, "' does not have the shape that H = ", shape.hidden, ", D = ",
            shape.latent, ", K = ", shape.classes_without_num, " implies (", block.rows(), "x", block.cols(), ")");
    if constexpr (std::is_same_v<Block, Vector<T>>)
      block = reader.vector<T>(name);
    else
      block = reader.matrix<T>(name);
  });
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
