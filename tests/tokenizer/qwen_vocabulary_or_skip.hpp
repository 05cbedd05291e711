#pragma once
// The real Qwen vocabulary for a test case, or the test reported as skipped (see below).

#include "qwen_vocabulary.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <iostream>
#include <string>

namespace causalqwen::test {

/// The vocabulary, or nullptr after marking the test skipped: the line printed below makes ctest
/// report the test file as skipped (tests/CMakeLists.txt). Under CI (CI=true) the vocabulary must
/// be there, because scripts/test.sh fetches it: its absence fails the test instead.
inline const Tokenizer* qwen_tokenizer_or_skip() {
  std::string why;
  const Tokenizer* tokenizer = qwen_tokenizer(why);
  if (tokenizer != nullptr) return tokenizer;
  const char* ci = std::getenv("CI");
  if (ci != nullptr && std::string(ci) == "true") FAIL("CI=true and " << why);
  std::cout << "CAUSALQWEN_SKIPPED: " << why << std::endl;
  return nullptr;
}

}  // namespace causalqwen::test
