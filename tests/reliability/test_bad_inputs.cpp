// The bad-input corpus (tests/data/bad, MANIFEST there) through the library's entry points:
// every case is refused with causalqwen::error whose message names the file (the programs'
// side of the same corpus is tests/run_bad_inputs.sh).
#include "../support/errors.hpp"

#include <causalqwen/backbone/qwen2.hpp>
#include <causalqwen/backbone/qwen2_gguf.hpp>
#include <causalqwen/backbone/qwen2_parameters.hpp>
#include <causalqwen/domain/features.hpp>
#include <causalqwen/domain/knowledge_delta.hpp>
#include <causalqwen/head/checkpoint.hpp>
#include <causalqwen/io/checkpoint.hpp>
#include <causalqwen/io/file.hpp>
#include <causalqwen/tokenizer/gguf_tokenizer.hpp>
#include <causalqwen/tokenizer/tokenizer.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace causalqwen_tests_reliability_bad_inputs {

namespace fs = std::filesystem;
using namespace causalqwen;
using causalqwen::testing::error_of;

namespace {

const fs::path corpus = fs::path(CAUSALQWEN_TEST_DATA_DIR) / "bad";

std::vector<std::pair<std::string, fs::path>> cases() {
  std::ifstream in(corpus / "MANIFEST");
  REQUIRE_MESSAGE(in, "cannot open ", (corpus / "MANIFEST").string());
  std::vector<std::pair<std::string, fs::path>> out;
  for (std::string kind, rel; in >> kind >> rel;) out.emplace_back(kind, corpus / rel);
  return out;
}

/// Every library entry point that reads a file of this kind, each to be refused naming it.
std::vector<std::string> errors_of(const std::string& kind, const fs::path& path) {
  std::vector<std::string> errors;
  if (kind == "model") {
    errors.push_back(error_of([&] { load_qwen2<>(path); }));
    if (fs::is_directory(path))
      errors.push_back(error_of([&] {
        load_qwen2_parameters<double>(load_qwen2_config(path / "config.json"), io::Checkpoint(path), path.string());
      }));
  } else if (kind == "tokenizer") {
    errors.push_back(error_of([&] { load_tokenizer(path); }));
    if (fs::is_regular_file(path))
      errors.push_back(error_of([&] { Tokenizer::from_json(io::read_file(path, "tokenizer file"), path.string()); }));
  } else if (kind == "head") {
    errors.push_back(error_of([&] { head::load_head<double>(path); }));
  } else if (kind == "delta") {
    const auto base = head::load_head<double>(corpus / "good" / "head.safetensors");
    errors.push_back(error_of([&] {
      const auto delta = domain::load_delta<double>(path, std::pair{base.hidden_size(), base.latent_size()});
      domain::require_matches<head::ExpLink>(delta, base.abduction().params(), path.string());
    }));
  } else if (kind == "features") {
    errors.push_back(error_of([&] { domain::load_features<double>(path, 16); }));
  } else {
    FAIL("unknown kind ", kind);
  }
  return errors;
}

}  // namespace

TEST_CASE("the good inputs of the corpus load") {
  CHECK(error_of([] { load_qwen2<>(corpus / "good" / "model"); }).empty());
  CHECK(error_of([] { load_tokenizer(corpus / "good" / "tokenizer.json"); }).empty());
  CHECK(error_of([] { head::load_head<double>(corpus / "good" / "head.safetensors"); }).empty());
  CHECK(error_of([] { domain::load_delta<double>(corpus / "good" / "delta.safetensors"); }).empty());
  CHECK(error_of([] { domain::load_features<double>(corpus / "good" / "features.npy", 16); }).empty());
}

TEST_CASE("every bad input is refused by the library with an error naming its file") {
  const auto all = cases();
  CHECK(all.size() >= 60);
  std::size_t checked = 0;
  for (const auto& bad : all) {
    const std::string& kind = bad.first;
    const std::filesystem::path& path = bad.second;
    if (kind == "text") continue;  // text is not a file to the library: see the next test case
    for (const std::string& message : errors_of(kind, path)) {
      INFO(kind, " ", path.string(), ": ", message);
      CHECK_FALSE(message.empty());
      CHECK(message.find(path.string()) != std::string::npos);
      ++checked;
    }
  }
  CHECK(checked >= all.size());
}

TEST_CASE("invalid UTF-8 text is refused by the tokenizer") {
  const Tokenizer tokenizer = load_tokenizer(corpus / "good" / "tokenizer.json");
  std::size_t texts = 0;
  for (const auto& bad : cases()) {
    const std::string& kind = bad.first;
    const std::filesystem::path& path = bad.second;
    if (kind != "text") continue;
    INFO(path.string());
    const std::string text = io::read_file(path, "text");
    CHECK(error_of([&] { tokenizer.encode(text); }).find("invalid UTF-8") != std::string::npos);
    ++texts;
  }
  CHECK(texts >= 4);
}

}  // namespace causalqwen_tests_reliability_bad_inputs
