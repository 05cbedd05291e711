#pragma once
// The hyper-parameters of a Qwen2 / Qwen2.5 checkpoint, read from its Hugging Face config.json.
// Everything the forward pass depends on is checked here, once, so the model code can trust it;
// a feature this implementation does not compute (rope scaling, sliding windows, another
// activation) is refused instead of silently computing something else.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/checked.hpp>
#include <causalqwen/io/file.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <utility>
#include <filesystem>
#include <string>
#include <string_view>

namespace causalqwen {

struct Qwen2Config {
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t num_key_value_heads = 0;  // defaults to num_attention_heads
  std::int64_t head_dim = 0;             // defaults to hidden_size / num_attention_heads
  std::int64_t max_position_embeddings = 0;
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;  // the Hugging Face Qwen2 default
  bool attention_bias = true;        // q/k/v projections carry biases in every Qwen2 release

  std::int64_t q_size() const { return num_attention_heads * head_dim; }
  std::int64_t kv_size() const { return num_key_value_heads * head_dim; }
};

namespace detail {

class ConfigFields {
 public:
  ConfigFields(const nlohmann::json& json, std::string source) : json_(json), source_(std::move(source)) {}

  template <class... Parts>
  [[noreturn]] void bad(std::string_view field, const Parts&... parts) const {
    fail(source_, ": field '", field, "' ", parts...);
  }
  bool has(std::string_view field) const { return json_.contains(field) && !json_.at(std::string(field)).is_null(); }
  const nlohmann::json& at(std::string_view field) const {
    if (!has(field)) bad(field, "is missing");
    return json_.at(std::string(field));
  }
  /// An integer in [1, max]: every size is bounded so that the products the model forms from
  /// them (heads x head_dim, vocab x hidden) fit in 64 bits.
  std::int64_t positive_integer(std::string_view field, std::int64_t max) const {
    const auto& value = at(field);
    if (!value.is_number_integer() || value.get<std::int64_t>() <= 0 || (value.is_number_unsigned() &&
        value.get<std::uint64_t>() > static_cast<std::uint64_t>(max)) || value.get<std::int64_t>() > max)
      bad(field, "must be a positive integer <= ", max, ", got ", value.dump());
    return value.get<std::int64_t>();
  }
  double positive_number(std::string_view field) const {
    const auto& value = at(field);
    if (!value.is_number() || !(value.get<double>() > 0.0)) bad(field, "must be a positive number, got ", value.dump());
    return value.get<double>();
  }
  bool boolean(std::string_view field, bool fallback) const {
    if (!has(field)) return fallback;
    const auto& value = at(field);
    if (!value.is_boolean()) bad(field, "must be true or false, got ", value.dump());
    return value.get<bool>();
  }
  const std::string& source() const { return source_; }

 private:
  const nlohmann::json& json_;
  std::string source_;
};

}  // namespace detail

/// Validates a parsed config; `source` names it in errors (usually the path of config.json).
inline Qwen2Config parse_qwen2_config(const nlohmann::json& json, std::string source) {
  if (!json.is_object()) fail(source, ": not a JSON object");
  const detail::ConfigFields fields(json, std::move(source));

  const auto& model_type = fields.at("model_type");
  if (!model_type.is_string() || model_type.get<std::string>() != "qwen2")
    fields.bad("model_type", "is ", model_type.dump(), ", only \"qwen2\" is supported");
  if (fields.has("architectures")) {
    const auto& architectures = fields.at("architectures");
    bool known = architectures.is_array() && !architectures.empty();
    for (const auto& name : architectures)
      known = known && name.is_string() && (name == "Qwen2ForCausalLM" || name == "Qwen2Model");
    if (!known) fields.bad("architectures", "is ", architectures.dump(), ", expected [\"Qwen2ForCausalLM\"]");
  }
  if (fields.has("hidden_act") && fields.at("hidden_act") != "silu")
    fields.bad("hidden_act", "is ", fields.at("hidden_act").dump(), ", only \"silu\" is supported");
  if (fields.has("rope_scaling")) fields.bad("rope_scaling", "is set; scaled rotary embeddings are not supported");
  if (fields.boolean("use_sliding_window", false))
    fields.bad("use_sliding_window", "is true; sliding-window attention is not supported");

  Qwen2Config config;
  constexpr std::int64_t max_width = std::int64_t{1} << 20;  // hidden, intermediate, q and kv sizes
  constexpr std::int64_t max_count = std::int64_t{1} << 16;  // layers, heads, head_dim
  config.vocab_size = fields.positive_integer("vocab_size", std::numeric_limits<std::int32_t>::max());
  config.hidden_size = fields.positive_integer("hidden_size", max_width);
  config.intermediate_size = fields.positive_integer("intermediate_size", max_width);
  config.num_hidden_layers = fields.positive_integer("num_hidden_layers", max_count);
  config.num_attention_heads = fields.positive_integer("num_attention_heads", max_count);
  config.num_key_value_heads = fields.has("num_key_value_heads")
                                   ? fields.positive_integer("num_key_value_heads", max_count)
                                   : config.num_attention_heads;
  if (fields.has("head_dim")) {
    config.head_dim = fields.positive_integer("head_dim", max_count);
  } else {
    if (config.hidden_size % config.num_attention_heads != 0)
      fields.bad("num_attention_heads", "(", config.num_attention_heads, ") does not divide hidden_size (",
                 config.hidden_size, ") and head_dim is not given");
    config.head_dim = config.hidden_size / config.num_attention_heads;
  }
  if (config.head_dim % 2 != 0) fields.bad("head_dim", "must be even for rotary embeddings, got ", config.head_dim);
  if (config.num_attention_heads % config.num_key_value_heads != 0)
    fields.bad("num_key_value_heads", "(", config.num_key_value_heads, ") must divide num_attention_heads (",
               config.num_attention_heads, ")");
  // Both factors are below 2^16, so the products are exact; they must still be plausible widths.
  for (const auto& [field, heads] : {std::pair<const char*, std::int64_t>{"num_attention_heads", config.num_attention_heads},
                                     {"num_key_value_heads", config.num_key_value_heads}}) {
    const auto size = checked_multiply(static_cast<std::uint64_t>(heads), static_cast<std::uint64_t>(config.head_dim));
    if (!size || *size > static_cast<std::uint64_t>(max_width))
      fields.bad(field, "(", heads, ") x head_dim (", config.head_dim, ") exceeds ", max_width);
  }
  config.max_position_embeddings = fields.positive_integer("max_position_embeddings", std::numeric_limits<std::int32_t>::max());
  config.rope_theta = fields.positive_number("rope_theta");
  config.rms_norm_eps = fields.positive_number("rms_norm_eps");
  config.tie_word_embeddings = fields.boolean("tie_word_embeddings", false);
  config.attention_bias = fields.boolean("attention_bias", true);
  return config;
}

inline Qwen2Config load_qwen2_config(const std::filesystem::path& file) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(io::read_file(file, "model config"));
  } catch (const nlohmann::json::exception& e) {
    fail(file.string(), ": not valid JSON: ", e.what());
  }
  return parse_qwen2_config(json, file.string());
}

/// The config.json text of `config` in the Hugging Face layout (for checkpoints the library writes).
inline std::string qwen2_config_json(const Qwen2Config& config) {
  const nlohmann::ordered_json json = {
      {"architectures", {"Qwen2ForCausalLM"}},
      {"model_type", "qwen2"},
      {"hidden_act", "silu"},
      {"vocab_size", config.vocab_size},
      {"hidden_size", config.hidden_size},
      {"intermediate_size", config.intermediate_size},
      {"num_hidden_layers", config.num_hidden_layers},
      {"num_attention_heads", config.num_attention_heads},
      {"num_key_value_heads", config.num_key_value_heads},
      {"head_dim", config.head_dim},
      {"max_position_embeddings", config.max_position_embeddings},
      {"rope_theta", config.rope_theta},
      {"rms_norm_eps", config.rms_norm_eps},
      {"tie_word_embeddings", config.tie_word_embeddings},
      {"attention_bias", config.attention_bias},
      {"use_sliding_window", false},
      {"rope_scaling", nullptr}};
  return json.dump(2);
}

}  // namespace causalqwen
