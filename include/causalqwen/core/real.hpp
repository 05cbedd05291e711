#pragma once
// The scalar types the numerical code is written for. Everything is a template over `Real`
// so that float (speed) and double (reference, gradient checks) share one source.

#include <concepts>

namespace causalqwen {

template <class T>
concept Real = std::floating_point<T>;

}  // namespace causalqwen
