// A downstream program that uses the Cauchy math only and links causalqwen::cauchy.
#include <causalqwen/cauchy/divergence.hpp>

#include <cmath>
#include <cstdio>

int main() {
  const causalqwen::Cauchy<double> p(0.0, 1.0);
  const causalqwen::Cauchy<double> q(1.0, 2.0);
  const double kl = causalqwen::kl_divergence(p, q);
  const double expected = std::log(((1.0 + 2.0) * (1.0 + 2.0) + 1.0) / 8.0);
  std::printf("KL = %.17g (expected %.17g)\n", kl, expected);
  return std::abs(kl - expected) <= 1e-15 ? 0 : 1;
}
