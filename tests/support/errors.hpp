#pragma once
// What tests assert about failures: the message of the causalqwen::error an action throws.

#include <causalqwen/core/error.hpp>

#include <string>

namespace causalqwen::testing {

/// The error message of `action`, or "" when it does not throw causalqwen::error.
template <class F>
std::string error_of(F&& action) {
  try {
    action();
  } catch (const error& e) {
    return e.what();
  }
  return "";
}

}  // namespace causalqwen::testing
