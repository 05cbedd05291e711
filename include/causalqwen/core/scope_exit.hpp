// Work that must run when a scope is left, whether normally or by an exception: a model that lends
// its parts to an editing callback takes them back even when the callback throws.
#pragma once

#include <utility>

namespace causalqwen {

template <class F>
class ScopeExit {
 public:
  explicit ScopeExit(F on_exit) : on_exit_(std::move(on_exit)) {}
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;
  ~ScopeExit() { on_exit_(); }

 private:
  F on_exit_;
};

}  // namespace causalqwen
