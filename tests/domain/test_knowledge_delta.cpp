// Knowledge delta files: bit-exact round trips with metadata; the wrong base, link or shape and
// truncated or foreign files are clear errors; fusion of any subset.
#include <causalqwen/domain/fusion.hpp>
#include <causalqwen/domain/knowledge_delta.hpp>
#include <causalqwen/head/abduction.hpp>
#include <causalqwen/io/safetensors.hpp>

#include "../support/scratch.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace causalqwen_tests_domain_knowledge_delta {

using namespace causalqwen;
using namespace causalqwen::domain;

namespace {

const std::filesystem::path scratch = causalqwen::testing::scratch_directory(__FILE__);

template <class T>
head::AbductionParams<T> random_params(std::size_t h, std::size_t d, std::mt19937_64& rng, T scale = 1) {
  auto p = head::AbductionParams<T>::zeros(h, d);
  std::normal_distribution<T> normal(0, 1);
  head::for_each_block(p, [&](const std::string&, auto& block) {
    for (Eigen::Index i = 0; i < block.size(); ++i) block.data()[i] = scale * normal(rng);
  });
  return p;
}

template <class A, class B>
bool same_bits(const A& a, const B& b) {
  return a.size() == b.size() && a.rows() == b.rows() &&
         std::memcmp(a.data(), b.data(), sizeof(typename A::Scalar) * static_cast<std::size_t>(a.size())) == 0;
}

template <class T>
void check_round_trip(const std::string& file) {
  std::mt19937_64 rng(1);
  const auto base = random_params<T>(7, 3, rng);
  const auto adapted = base + random_params<T>(7, 3, rng, T(0.01));
  const auto delta = make_delta<head::ExpLink>(std::string("legal"), base, adapted, T(0.0123456789), T(0.9), T(3.5));
  save_delta(delta, scratch / file);
  const auto back = load_delta<T>(scratch / file, std::pair<std::size_t, std::size_t>{7, 3});
  CHECK(back.domain == "legal");
  CHECK(back.scale_link == "exp");
  CHECK(back.base_checksum == base_checksum(base));
  CHECK(back.epsilon == delta.epsilon);
  CHECK(back.max_kl == delta.max_kl);
  CHECK(back.kl_weight == delta.kl_weight);
  head::for_each_block_pair(back.weights, delta.weights,
                            [](const std::string& name, const auto& x, const auto& y) {
                              INFO(name);
                              CHECK(same_bits(x, y));
                            });
  // Applying gives W_base + delta exactly as computed in memory.
  const auto applied = apply_delta<head::ExpLink>(base, back);
  CHECK(same_bits(applied.loc_weight, (base + delta.weights).loc_weight));
}

}  // namespace

TEST_CASE("delta files round trip bit-exact, float and double") {
  check_round_trip<double>("delta_f64.safetensors");
  check_round_trip<float>("delta_f32.safetensors");
}

TEST_CASE("the base checksum sees every value, shape and block") {
  std::mt19937_64 rng(2);
  const auto base = random_params<double>(5, 2, rng);
  const std::string c = base_checksum(base);
  CHECK(c.rfind("fnv1a64:", 0) == 0);
  CHECK(c.size() == 8 + 16);
  auto other = base;
  other.scale_bias(1) = std::nextafter(other.scale_bias(1), 1e9);
  CHECK(base_checksum(other) != c);
  auto swapped = base;
  std::swap(swapped.loc_weight, swapped.scale_weight);
  CHECK(base_checksum(swapped) != c);
  CHECK(base_checksum(head::AbductionParams<double>::zeros(4, 2)) != base_checksum(head::AbductionParams<double>::zeros(2, 4)));
  // float and double copies of the same numbers agree
  auto as_float = head::AbductionParams<float>::zeros(5, 2);
  as_float.loc_weight = base.loc_weight.cast<float>();
  as_float.loc_bias = base.loc_bias.cast<float>();
  as_float.scale_weight = base.scale_weight.cast<float>();
  as_float.scale_bias = base.scale_bias.cast<float>();
  auto widened = base;
  widened.loc_weight = as_float.loc_weight.cast<double>();
  widened.loc_bias = as_float.loc_bias.cast<double>();
  widened.scale_weight = as_float.scale_weight.cast<double>();
  widened.scale_bias = as_float.scale_bias.cast<double>();
  CHECK(base_checksum(as_float) == base_checksum(widened));
}

TEST_CASE("a delta applied to another base or link is an error") {
  std::mt19937_64 rng(3);
  const auto base = random_params<double>(6, 3, rng);
  const auto delta = make_delta<head::ExpLink>(std::string("a"), base, base + random_params<double>(6, 3, rng, 0.1),
                                               0.1, 0.2, 1.0);
  auto other = base;
  other.loc_bias(0) += 1e-9;
  CHECK_THROWS_WITH_AS(apply_delta<head::ExpLink>(other, delta), doctest::Contains("different base abduction"),
                       causalqwen::error);
  CHECK_THROWS_WITH_AS(apply_delta<head::IdentityLink>(base, delta), doctest::Contains("scale link 'exp'"),
                       causalqwen::error);
  CHECK_THROWS_WITH_AS(apply_delta<head::ExpLink>(random_params<double>(5, 3, rng), delta),
                       doctest::Contains("H = 6"), causalqwen::error);
  CHECK_THROWS_AS(make_delta<head::ExpLink>(std::string(""), base, base, 0.0, 0.0, 0.0), causalqwen::error);
  CHECK_THROWS_AS(make_delta<head::ExpLink>(std::string("x"), base, base, -1.0, 0.0, 0.0), causalqwen::error);
}

TEST_CASE("fusion of any subset: W_base + sum alpha_j delta_j") {
  std::mt19937_64 rng(4);
  const auto base = random_params<double>(6, 3, rng);
  std::vector<KnowledgeDelta<double>> deltas;
  for (const char* name : {"d0", "d1", "d2"})
    deltas.push_back(make_delta<head::ExpLink>(std::string(name), base,
                                               base + random_params<double>(6, 3, rng, 0.1), 0.1, 0.1, 1.0));
  Vector<double> alpha(3);
  alpha << 0.5, -1.0, 2.0;
  const auto fused = fuse_abduction<head::ExpLink>(base, std::span<const KnowledgeDelta<double>>(deltas), alpha);
  const auto expected = base + 0.5 * deltas[0].weights + (-1.0) * deltas[1].weights + 2.0 * deltas[2].weights;
  CHECK(std::sqrt(head::squared_norm(fused - expected)) < 1e-14);
  Vector<double> one(1);
  one << 1.0;
  const auto only_second =
      fuse_abduction<head::ExpLink>(base, std::span<const KnowledgeDelta<double>>(deltas).subspan(1, 1), one);
  CHECK(std::sqrt(head::squared_norm(only_second - (base + deltas[1].weights))) == 0);
  CHECK_THROWS_AS(fuse_abduction<head::ExpLink>(base, std::span<const KnowledgeDelta<double>>(deltas), one),
                  causalqwen::error);
  alpha(1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(fuse_abduction<head::ExpLink>(base, std::span<const KnowledgeDelta<double>>(deltas), alpha),
                  causalqwen::error);
  CHECK(fusion_link<head::ExpLink>().value() == ScaleCoordinate::log_scale);
  CHECK(fusion_link<head::IdentityLink>().value() == ScaleCoordinate::scale);
  CHECK_FALSE(fusion_link<head::SoftplusLink>().has_value());
  CHECK(fusion_link<head::SoftplusLink>().reason().find("softplus") != std::string::npos);
}

TEST_CASE("wrong shape, foreign, corrupt and truncated delta files are clear errors") {
  std::mt19937_64 rng(5);
  const auto base = random_params<double>(6, 3, rng);
  const auto delta = make_delta<head::ExpLink>(std::string("a"), base, base + random_params<double>(6, 3, rng, 0.1),
                                               0.1, 0.2, 1.0);
  const auto good = scratch / "good.safetensors";
  save_delta(delta, good);

  SUBCASE("expected sizes differ") {
    CHECK_THROWS_WITH_AS(load_delta<double>(good, std::pair<std::size_t, std::size_t>{6, 4}),
                         doctest::Contains("expected H = 6, D = 4"), causalqwen::error);
  }
  SUBCASE("a tensor with the wrong shape") {
    io::SafetensorsReader reader(good);
    io::SafetensorsWriter w;
    for (const auto& [k, v] : reader.metadata()) w.set_metadata(k, v);
    w.add("loc_weight", RowMatrix<double>(RowMatrix<double>::Zero(3, 5)));
    w.add("loc_bias", delta.weights.loc_bias);
    w.add("scale_weight", delta.weights.scale_weight);
    w.add("scale_bias", delta.weights.scale_bias);
    w.write(scratch / "bad_shape.safetensors");
    CHECK_THROWS_WITH_AS(load_delta<double>(scratch / "bad_shape.safetensors"), doctest::Contains("loc_weight"),
                         causalqwen::error);
  }
  SUBCASE("metadata sizes larger than the tensors are refused before anything is allocated") {
    // H = 2^64-1 was allocated from the metadata before the tensors were looked at (bare bad_alloc).
    for (const auto& sizes : {std::pair<std::string, std::string>{"18446744073709551615", "3"},
                              {"2147483648", "2147483648"}}) {
      const std::string& h = sizes.first;
      const std::string& d = sizes.second;
      INFO("H = ", h, ", D = ", d);
      io::SafetensorsReader reader(good);
      io::SafetensorsWriter w;
      for (const auto& [k, v] : reader.metadata()) w.set_metadata(k, v);
      w.set_metadata("H", h);
      w.set_metadata("D", d);
      head::for_each_block(delta.weights, [&](const std::string& name, const auto& block) { w.add(name, block); });
      w.write(scratch / "huge_meta.safetensors");
      CHECK_THROWS_WITH_AS(load_delta<double>(scratch / "huge_meta.safetensors"),
                           doctest::Contains("huge_meta.safetensors: tensor '"), causalqwen::error);
    }
  }
  SUBCASE("a head checkpoint or a file without metadata is not a delta") {
    io::SafetensorsWriter w;
    w.add("loc_weight", delta.weights.loc_weight);
    w.write(scratch / "no_meta.safetensors");
    CHECK_THROWS_WITH_AS(load_delta<double>(scratch / "no_meta.safetensors"), doctest::Contains("not a knowledge delta"),
                         causalqwen::error);
  }
  SUBCASE("an extra tensor") {
    io::SafetensorsReader reader(good);
    io::SafetensorsWriter w;
    for (const auto& [k, v] : reader.metadata()) w.set_metadata(k, v);
    head::for_each_block(delta.weights, [&](const std::string& name, const auto& b) { w.add(name, b); });
    w.add("extra", delta.weights.loc_bias);
    w.write(scratch / "extra.safetensors");
    CHECK_THROWS_WITH_AS(load_delta<double>(scratch / "extra.safetensors"), doctest::Contains("unexpected tensor"),
                         causalqwen::error);
  }
  SUBCASE("truncated files") {
    std::ifstream in(good, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const std::size_t keep : {std::size_t(0), std::size_t(5), std::size_t(40), bytes.size() / 2, bytes.size() - 1}) {
      const auto cut = scratch / "truncated.safetensors";
      std::ofstream(cut, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(keep));
      INFO("kept ", keep, " of ", bytes.size(), " bytes");
      CHECK_THROWS_AS(load_delta<double>(cut), causalqwen::error);
    }
  }
  SUBCASE("missing file") {
    CHECK_THROWS_AS(load_delta<double>(scratch / "does_not_exist.safetensors"), causalqwen::error);
  }
}

}  // namespace causalqwen_tests_domain_knowledge_delta
