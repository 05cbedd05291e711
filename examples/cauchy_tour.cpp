// A walk through the Cauchy mathematics the causal head rests on, with readable output.
#include <causalqwen/causalqwen.hpp>

#include <cstdio>

int main() {
  using causalqwen::Cauchy;
  const Cauchy<double> u(0.0, 1.0);
  std::printf("U ~ Cauchy(loc=%g, scale=%g)\n", u.loc(), u.scale());
  std::printf("  pdf(0) = %.6f   cdf(1) = %.6f   survival(1e12) = %.6e\n", pdf(u, 0.0), cdf(u, 1.0),
              survival(u, 1e12));
  std::printf("  log_cdf(-1e300) = %.6f (the naive 0.5 + atan(x)/pi gives log 0 = -inf)\n", log_cdf(u, -1e300));
  std::printf("  quantile(0.975) = %.6f   entropy = %.6f\n", quantile(u, 0.975), entropy(u));

  const Cauchy<double> v(1e-9, 1.0 + 1e-9);
  std::printf("KL(U || Cauchy(1e-9, 1 + 1e-9)) = %.6e (naive closed form: noise at this size)\n",
              kl_divergence(u, v));
  return 0;
}
