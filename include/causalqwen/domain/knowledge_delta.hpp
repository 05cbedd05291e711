#pragma once
// A domain's knowledge delta delta_i = W'_i - W_base of the abduction (weights and biases), with
// what it means: the domain's name, the KL it costs on its training data (eps: the achieved mean,
// and the largest per-position value), the lambda it was trained with, the scale link, and a
// checksum of the base abduction it was taken against. Applying a delta to any other base, or
// with another scale link, is an error: the numbers would silently mean something else.
//
// File format (safetensors, written atomically): tensors "loc_weight" [D x H], "loc_bias" [D],
// "scale_weight" [D x H], "scale_bias" [D] in the delta's own precision (float -> F32,
// double -> F64, bit-exact round trips); metadata format = causalqwen.delta/1, domain,
// scale_link, base_checksum, H, D, epsilon, max_kl, lambda (shortest round-trip decimals).

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/abduction.hpp>
#include <causalqwen/head/parameters.hpp>
#include <causalqwen/io/metadata.hpp>
#include <causalqwen/io/safetensors.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace causalqwen::domain {

inline constexpr std::string_view kDeltaFormat = "causalqwen.delta/1";
inline constexpr std::string_view kDeltaKind = "knowledge delta";  ///< in error messages

/// FNV-1a (64 bit) over every block's name, shape and values (widened to double, -0 as +0), so a
/// float base and its double copy agree while any changed value, shape or block order does not.
template <Real T>
std::string base_checksum(const head::AbductionParams<T>& base) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  const auto mix = [&hash](const void* data, std::size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) {
      hash ^= bytes[i];
      hash *= 0x100000001b3ULL;
    }
  };
  head::for_each_block(base, [&](const std::string& name, const auto& block) {
    mix(name.data(), name.size());
    const std::int64_t shape[2] = {static_cast<std::int64_t>(block.rows()), static_cast<std::int64_t>(block.cols())};
    mix(shape, sizeof shape);
    for (Eigen::Index i = 0; i < block.size(); ++i) {
      const double v = static_cast<double>(block.data()[i]) + 0.0;  // -0 + 0 = +0
      mix(&v, sizeof v);
    }
  });
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "fnv1a64:";
  for (int shift = 60; shift >= 0; shift -= 4) out += digits[(hash >> shift) & 0xF];
  return out;
}

template <Real T>
struct KnowledgeDelta {
  std::string domain;
  std::string scale_link;      ///< head::ScaleLinkPolicy::name() of the head it belongs to
  std::string base_checksum;   ///< base_checksum() of the base abduction
  T epsilon = 0;               ///< achieved mean KL(P_base || P_domain) on the domain's training data
  T max_kl = 0;                ///< largest per-position KL there
  T kl_weight = 0;             ///< lambda at the end of training
  head::AbductionParams<T> weights;  ///< delta = W' - W_base

  std::size_t hidden_size() const { return weights.hidden_size(); }
  std::size_t latent_size() const { return weights.latent_size(); }
};

/// delta = adapted - base, stamped with the base's checksum and the head's scale link.
template <head::ScaleLinkPolicy Link, Real T>
KnowledgeDelta<T> make_delta(std::string domain, const head::AbductionParams<T>& base,
                             const head::AbductionParams<T>& adapted, T epsilon, T max_kl, T kl_weight) {
  require(!domain.empty(), "make_delta: the domain needs a name");
  require(std::isfinite(epsilon) && epsilon >= 0 && std::isfinite(max_kl) && max_kl >= 0 && std::isfinite(kl_weight) &&
              kl_weight >= 0,
          "make_delta: epsilon, max KL and lambda must be finite and >= 0 (", epsilon, ", ", max_kl, ", ", kl_weight,
          ")");
  KnowledgeDelta<T> d{std::move(domain), std::string(Link::name()), base_checksum(base), epsilon, max_kl, kl_weight,
                      adapted - base};
  head::require_finite(d.weights, "make_delta");
  return d;
}

/// Throws unless `delta` was taken against exactly `base` with the scale link `Link`; `where`
/// (the delta's file, when it came from one) opens the message.
template <head::ScaleLinkPolicy Link, Real T>
void require_matches(const KnowledgeDelta<T>& delta, const head::AbductionParams<T>& base, std::string_view where = {}) {
  const std::string who = (where.empty() ? std::string() : std::string(where) + ": ") + "knowledge delta '" + delta.domain + "'";
  require(delta.scale_link == Link::name(), who, " belongs to a head with scale link '", delta.scale_link, "', not '",
          Link::name(), "'");
  require(delta.hidden_size() == base.hidden_size() && delta.latent_size() == base.latent_size(), who, " has H = ",
          delta.hidden_size(), ", D = ", delta.latent_size(), "; the base abduction has H = ", base.hidden_size(),
          ", D = ", base.latent_size());
  const std::string checksum = base_checksum(base);
  require(delta.base_checksum == checksum, who, " was taken against base ", delta.base_checksum,
          " but is being applied to base ", checksum, " (a different base abduction)");
}

/// W_base + delta.
template <head::ScaleLinkPolicy Link, Real T>
head::AbductionParams<T> apply_delta(const head::AbductionParams<T>& base, const KnowledgeDelta<T>& delta) {
  require_matches<Link>(delta, base);
  return base + delta.weights;
}

template <Real T>
void save_delta(const KnowledgeDelta<T>& delta, const std::filesystem::path& file) {
  io::SafetensorsWriter writer;
  writer.set_metadata("format", std::string(kDeltaFormat));
  writer.set_metadata("domain", delta.domain);
  writer.set_metadata("scale_link", delta.scale_link);
  writer.set_metadata("base_checksum", delta.base_checksum);
  writer.set_metadata("H", std::to_string(delta.hidden_size()));
  writer.set_metadata("D", std::to_string(delta.latent_size()));
  writer.set_metadata("epsilon", io::shortest(delta.epsilon));
  writer.set_metadata("max_kl", io::shortest(delta.max_kl));
  writer.set_metadata("lambda", io::shortest(delta.kl_weight));
  head::for_each_block(delta.weights, [&](const std::string& name, const auto& block) { writer.add(name, block); });
  writer.write(file);
}

/// Loads a delta saved by save_delta. `expected` (H, D), if given, must match the file.
template <Real T>
KnowledgeDelta<T> load_delta(const std::filesystem::path& file,
                             std::optional<std::pair<std::size_t, std::size_t>> expected = std::nullopt) {
  const io::SafetensorsReader reader(file);
  const std::string where = file.string();
  const std::string& format = io::required_metadata(reader, kDeltaKind, "format");
  require(format == kDeltaFormat, where, ": format '", format, "', expected '", kDeltaFormat, "'");
  const auto h = io::metadata_number<std::size_t>(reader, kDeltaKind, "H");
  const auto d = io::metadata_number<std::size_t>(reader, kDeltaKind, "D");
  require(h > 0 && d > 0, where, ": metadata sizes must be > 0 (H = ", h, ", D = ", d, ")");
  if (expected)
    require(expected->first == h && expected->second == d, where, ": delta has H = ", h, ", D = ", d,
            "; expected H = ", expected->first, ", D = ", expected->second);
  const std::string sizes = "H = " + std::to_string(h) + ", D = " + std::to_string(d);
  io::require_tensor_shape(reader, "loc_weight", {d, h}, sizes);  // bounds H and D before allocating
  KnowledgeDelta<T> delta{io::required_metadata(reader, kDeltaKind, "domain"),
                          io::required_metadata(reader, kDeltaKind, "scale_link"),
                          io::required_metadata(reader, kDeltaKind, "base_checksum"),
                          io::metadata_number<T>(reader, kDeltaKind, "epsilon"),
                          io::metadata_number<T>(reader, kDeltaKind, "max_kl"),
                          io::metadata_number<T>(reader, kDeltaKind, "lambda"),
                          head::AbductionParams<T>::zeros(h, d)};
  io::require_only_tensors(reader, head::AbductionParams<T>::block_names(), kDeltaKind);
  head::for_each_block(delta.weights,
                       [&](const std::string& name, auto& block) { io::read_sized(reader, name, block, sizes); });
  head::require_finite(delta.weights, where);
  require(std::isfinite(delta.epsilon) && delta.epsilon >= 0, where, ": epsilon must be finite and >= 0");
  return delta;
}

}  // namespace causalqwen::domain
