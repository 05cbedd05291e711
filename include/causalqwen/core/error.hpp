#pragma once
// The library's single exception type. Every bad input (malformed file, wrong shape, NaN,
// non-positive scale, invalid UTF-8, missing tensor) ends here with a message that names the
// file, tensor or field at fault, so callers can catch one type and still tell users what broke.

#include <sstream>
#include <stdexcept>
#include <string>

namespace causalqwen {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Streams every part into one message and throws causalqwen::error with it.
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  throw error(message.str());
}

/// Throws causalqwen::error built from `parts` unless `condition` holds.
template <class... Parts>
void require(bool condition, const Parts&... parts) {
  if (!condition) fail(parts...);
}

}  // namespace causalqwen
