// A walk through the Cauchy mathematics the causal head rests on, with readable output:
// the univariate law and its stable tails, the independent latent U, linear closure, sampling,
// divergences and Fisher information, and finally a fusion certificate for domain deltas.
#include "cli/program.hpp"

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <random>
#include <vector>

namespace cq = causalqwen;

namespace {
void section(const char* title) { std::printf("\n== %s ==\n", title); }

void print_certificate(const char* title, const cq::FusionCertificate<double>& c) {
  std::printf("%s\n", title);
  std::printf("  budgets eps_k          :");
  for (Eigen::Index k = 0; k < c.budgets.size(); ++k) std::printf(" %.4g", c.budgets(k));
  std::printf("\n  design estimate        : %.4g   (sum |alpha_k| sqrt eps_k)^2, not a bound\n", c.design_estimate);
  if (c.exact_kl)
    std::printf("  exact KL(P0 || fused)  : %.4g%s\n", c.exact_kl.value(),
                c.design_estimate_exceeded() ? "   <-- exceeds the design estimate" : "");
  else
    std::printf("  exact KL               : none (%s)\n", c.exact_kl.reason().c_str());
  if (c.bound)
    std::printf("  certified bound        : %.4g   by %s\n", c.bound.value().value, cq::to_string(c.bound.value().method));
  else
    std::printf("  certified bound        : none (%s)\n", c.bound.reason().c_str());
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"A walk through the Cauchy mathematics of the causal head"};
  return causalqwen::programs::run_program("cauchy_tour", app, argc, argv, [&] {
    section("The univariate law");
    const cq::Cauchy<double> u(0.0, 1.0);
    std::printf("U ~ Cauchy(loc=%g, scale=%g)\n", u.loc(), u.scale());
    std::printf("  pdf(0) = %.6f   cdf(1) = %.6f   survival(1e12) = %.6e\n", pdf(u, 0.0), cdf(u, 1.0), survival(u, 1e12));
    std::printf("  log_cdf(-1e300) = %.6f (the naive 0.5 + atan(x)/pi gives log 0 = -inf)\n", log_cdf(u, -1e300));
    std::printf("  quantile(0.975) = %.6f   entropy = log(4 pi scale) = %.6f\n", quantile(u, 0.975), entropy(u));
  
    section("Independent latent U and linear closure");
    cq::Vector<double> loc(3), scale(3);
    loc << 0.5, -1.0, 2.0;
    scale << 1.0, 0.25, 3.0;
    const cq::IndependentCauchy<double> latent(loc, scale);
    cq::RowMatrix<double> a(2, 3);
    a << 1.0, -2.0, 0.5, 0.0, 1.0, 1.0;
    cq::Vector<double> b(2);
    b << 0.1, -0.2;
    const auto scores = cq::linear_marginals(a, latent, b);
    for (Eigen::Index k = 0; k < 2; ++k)
      std::printf("  S_%ld = A_%ld.U + b_%ld ~ Cauchy(%.3f, %.3f)   P(S_%ld > 0) = %.4f\n", long(k), long(k), long(k),
                  scores.loc()(k), scores.scale()(k), long(k), cq::stable::ovr_probability(scores.loc()(k), scores.scale()(k)));
    std::printf("  (scale = |A| scale: negative coefficients add spread; S_0 and S_1 share U_1, U_2, so they are dependent)\n");
  
    section("Reparameterised sampling");
    std::mt19937_64 rng(42);
    const auto draw = cq::sample(latent.marginal(0), rng);
    std::printf("  u = loc + scale tan(pi (eps - 1/2)) = %.4f, du/dloc = %g, du/dscale = %.4f\n", draw.value, draw.d_loc,
                draw.d_scale);
  
    section("Divergences and Fisher information");
    const cq::Cauchy<double> p(0.0, 1.0), q(1.0, 2.0);
    std::printf("  KL(p||q) = %.6f = KL(q||p)   chi2 = %.6f   Fisher-Rao = %.6f   TV = %.6f\n", kl_divergence(p, q),
                chi_square_divergence(p, q), fisher_rao_distance(p, q), total_variation_distance(p, q));
    const cq::Cauchy<double> v(1e-9, 1.0 + 1e-9);
    std::printf("  KL(U || Cauchy(1e-9, 1 + 1e-9)) = %.6e (naive closed form: noise at this size)\n", kl_divergence(u, v));
    const auto info = fisher_information(u, cq::ScaleCoordinate::log_scale);
    std::printf("  Fisher information in (mu, log g) at g = 1: diag(%.3f, %.3f); quadratic KL estimate for a 1%% shrink: %.4e"
                " vs exact %.4e\n",
                info.loc, info.scale, kl_quadratic_estimate(u, 0.0, 0.01, cq::ScaleCoordinate::scale),
                kl_divergence(u, cq::Cauchy<double>(0.0, 0.99)));
  
    section("Fusing domain deltas (identity scale link)");
    cq::Vector<double> one(1), base_scale(1);
    one << 0.0;
    base_scale << 1.0;
    const cq::IndependentCauchy<double> base(one, base_scale);
    auto domain = [&](double mu, double g) {
      cq::Vector<double> l(1), s(1);
      l << mu;
      s << g;
      return cq::IndependentCauchy<double>(l, s);
    };
    cq::Vector<double> alpha(1);
    alpha << 2.0;
    std::vector<cq::IndependentCauchy<double>> shrink{domain(0.0, 0.9)};
    print_certificate("A domain that shrinks the scale by 10 %, fused with alpha = 2:",
                      cq::certify_fusion(cq::ScaleCoordinate::scale, base, shrink, alpha));
    alpha << -0.9;
    std::vector<cq::IndependentCauchy<double>> doubling{domain(0.0, 2.0)};
    print_certificate("A domain that doubles the scale, fused with alpha = -0.9 (the bound is attained here):",
                      cq::certify_fusion(cq::ScaleCoordinate::scale, base, doubling, alpha));
    cq::Vector<double> both(2);
    both << 1.0, 1.0;
    std::vector<cq::IndependentCauchy<double>> halves{domain(0.0, 0.5), domain(0.0, 0.5)};
    print_certificate("Two domains that halve the scale, fused with alpha = (1, 1):",
                      cq::certify_fusion(cq::ScaleCoordinate::scale, base, halves, both));
  
    section("Fusing domain deltas (log scale link)");
    std::vector<cq::IndependentCauchy<double>> wide_and_narrow{domain(73.9, std::exp(4.0)), domain(0.0, std::exp(-4.0))};
    both << 0.5, 0.5;
    print_certificate("One domain widens and shifts, one narrows; convex weights (1/2, 1/2):",
                      cq::certify_fusion(cq::ScaleCoordinate::log_scale, base, wide_and_narrow, both));
    return 0;
  });
}
