// The domain-knowledge experiment: a base task and three domains whose ground-truth abduction
// differs from the base's in different directions; the abduction of a trained base head is
// adapted to each domain (plain fine-tuning, KL-anchored under a budget, a low-rank delta, a
// residual latent adapter), the deltas are fused, and everything is measured on held-out data of
// every task. Writes a markdown report (atomically) whose prose is derived from the measured
// numbers.
//
//   domain_fusion [--quick] [--report docs/experiments_domain_fusion.md] [--seed 1]
#include "cli/program.hpp"

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace cq = causalqwen;
using cq::RowMatrix;
using cq::Vector;
using Head = cq::head::CausalHead<double>;
using Abduction = cq::head::AbductionParams<double>;
using Dataset = cq::train::Dataset<double>;

namespace {

constexpr std::size_t kHidden = 32, kLatent = 8, kClasses = 11, kRank = 2;
constexpr std::array<Eigen::Index, 3> kMarker = {29, 30, 31};  // feature that signals domain j
const std::array<const char*, 3> kDomainName = {"A: marker shift", "B: global rewrite", "C: scale change"};

struct Sizes {
  std::size_t base_train, domain_train, validation, test, base_epochs, adapt_epochs;
};

// ---- restricted parameterisations that the design argues against ---------------------------

/// LoRA-style delta: W' = W + A B for both weight matrices (A [D x r] starts at 0), biases fixed.
struct LowRankParams {
  using scalar_type = double;
  RowMatrix<double> loc_a, loc_b, scale_a, scale_b;
  auto blocks() { return std::tie(loc_a, loc_b, scale_a, scale_b); }
  auto blocks() const { return std::tie(loc_a, loc_b, scale_a, scale_b); }
  static std::vector<std::string> block_names() { return {"loc_a", "loc_b", "scale_a", "scale_b"}; }
};

struct LowRank {
  using scalar_type = double;
  using params_type = LowRankParams;
  std::uint64_t seed = 0;
  LowRankParams initial(const Abduction& w) const {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0, 1 / std::sqrt(double(w.hidden_size())));
    const auto d = static_cast<Eigen::Index>(w.latent_size()), h = static_cast<Eigen::Index>(w.hidden_size());
    const auto r = static_cast<Eigen::Index>(kRank);
    LowRankParams p{RowMatrix<double>::Zero(d, r), RowMatrix<double>(r, h), RowMatrix<double>::Zero(d, r),
                    RowMatrix<double>(r, h)};
    for (auto* m : {&p.loc_b, &p.scale_b})
      for (Eigen::Index i = 0; i < m->size(); ++i) m->data()[i] = normal(rng);
    return p;
  }
  Abduction materialize(const Abduction& w, const LowRankParams& p) const {
    Abduction out = w;
    out.loc_weight += p.loc_a * p.loc_b;
    out.scale_weight += p.scale_a * p.scale_b;
    return out;
  }
  LowRankParams pullback(const Abduction&, const LowRankParams& p, const Abduction& g) const {
    return {g.loc_weight * p.loc_b.transpose(), p.loc_a.transpose() * g.loc_weight,
            g.scale_weight * p.scale_b.transpose(), p.scale_a.transpose() * g.scale_weight};
  }
};

/// Residual module on the latent: loc' = loc + R loc + r, scale' = scale * exp(c). It sees h
/// only through the base's loc.
struct ResidualParams {
  using scalar_type = double;
  RowMatrix<double> mix;
  Vector<double> shift, log_rescale;
  auto blocks() { return std::tie(mix, shift, log_rescale); }
  auto blocks() const { return std::tie(mix, shift, log_rescale); }
  static std::vector<std::string> block_names() { return {"mix", "shift", "log_rescale"}; }
};

struct Residual {
  using scalar_type = double;
  using params_type = ResidualParams;
  ResidualParams initial(const Abduction& w) const {
    const auto d = static_cast<Eigen::Index>(w.latent_size());
    return {RowMatrix<double>::Zero(d, d), Vector<double>::Zero(d), Vector<double>::Zero(d)};
  }
  Abduction materialize(const Abduction& w, const ResidualParams& p) const {
    Abduction out = w;
    out.loc_weight += p.mix * w.loc_weight;
    out.loc_bias += p.mix * w.loc_bias + p.shift;
    out.scale_bias += p.log_rescale;  // exp link: raw + c rescales the scale by e^c
    return out;
  }
  ResidualParams pullback(const Abduction& w, const ResidualParams&, const Abduction& g) const {
    return {g.loc_weight * w.loc_weight.transpose() + g.loc_bias * w.loc_bias.transpose(), g.loc_bias, g.scale_bias};
  }
};

static_assert(cq::domain::AbductionParameterization<LowRank> && cq::domain::AbductionParameterization<Residual>);

// ---- data ---------------------------------------------------------------------------------------

/// Hidden states of task j (-1: the base task): N(0, I), domain markers almost silent except the
/// task's own, which is on (mean 3).
RowMatrix<double> hidden_states(std::size_t n, int task, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0, 1);
  RowMatrix<double> h(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(kHidden));
  for (Eigen::Index i = 0; i < h.size(); ++i) h.data()[i] = normal(rng);
  for (std::size_t j = 0; j < kMarker.size(); ++j)
    h.col(kMarker[j]) *= static_cast<int>(j) == task ? 1.0 : 0.1;
  if (task >= 0) h.col(kMarker[static_cast<std::size_t>(task)]).array() += 3.0;
  return h;
}

/// The ground-truth abduction of domain j: the base truth moved in a direction of its own.
Abduction domain_truth(const Abduction& base, int j, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0, 1);
  Abduction w = base;
  const auto d = static_cast<Eigen::Index>(kLatent), h = static_cast<Eigen::Index>(kHidden);
  const auto m = kMarker[static_cast<std::size_t>(j)];
  if (j == 0) {  // only where the marker is on: loc moves along a direction of its own
    for (Eigen::Index i = 0; i < d; ++i) w.loc_weight(i, m) += 0.6 * normal(rng);
  } else if (j == 1) {  // a rewrite that also applies to base inputs: it conflicts with the base task
    for (int r = 0; r < 2; ++r) {
      Vector<double> u(d), v(h);
      for (auto& x : u) x = normal(rng);
      for (auto& x : v) x = normal(rng) / std::sqrt(double(h));
      for (const auto mk : kMarker) v(mk) = 0;
      w.loc_weight += 0.5 * u * v.transpose();
    }
    for (Eigen::Index i = 0; i < d; ++i) w.loc_weight(i, m) += 0.3 * normal(rng);
  } else {  // the marker widens half of the latent dimensions and sharpens the other half
    for (Eigen::Index i = 0; i < d; ++i) {
      w.scale_weight(i, m) += i % 2 ? 0.4 : -0.4;
      w.loc_weight(i, m) += 0.3 * normal(rng);
    }
  }
  return w;
}

struct Task {
  std::string name;
  Dataset train, validation, test;
};

// ---- evaluation ---------------------------------------------------------------------------------

struct Score {
  double accuracy = 0, median_error = 0;
};

Score score(const Head& head, const Dataset& d) {
  const auto p = head.predict(d.hidden);
  const auto m = cq::head::evaluate(p.classes, p.confidence, p.value_loc, p.value_scale, d.targets, head.classes());
  return {m.accuracy, m.value_median_ae};
}

Head with_abduction(const Head& base, const Abduction& w) {
  Head h = base;
  h.abduction().set_params(w);
  return h;
}

double mean_kl(const Head& base, const Abduction& w, const RowMatrix<double>& hidden) {
  const cq::head::AbductionNetwork<double> adapted(w);
  return cq::domain::kl_anchor(base.abduction().forward(hidden).latent(), adapted.forward(hidden).latent()).mean;
}

std::string fixed(double v, int digits = 3) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
  return buffer;
}

std::string pct(double v) { return fixed(100 * v, 1); }

/// "higher by 3.1 points" / "lower by 2.0 points" / "within 0.5 points of".
std::string versus(double a, double b) {
  const double d = 100 * (a - b);
  if (std::abs(d) < 0.5) return "within 0.5 points of";
  return (d > 0 ? "higher by " : "lower by ") + fixed(std::abs(d), 1) + " points than";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Domain adaptation and fusion of the abduction: plain, KL-anchored, low-rank, residual"};
  bool quick = false;
  std::string report_path;
  std::uint64_t seed = 1;
  app.add_flag("--quick", quick, "small sizes (a CI smoke run)");
  app.add_option("--report", report_path, "write the markdown report here (atomically)");
  app.add_option("--seed", seed, "seed of the whole experiment");
  return causalqwen::programs::run_program("domain_fusion", app, argc, argv, [&] {
    const auto start = std::chrono::steady_clock::now();
    const Sizes z = quick ? Sizes{1500, 500, 300, 600, 6, 4} : Sizes{8000, 2000, 1000, 4000, 20, 12};

    cq::train::SyntheticConfig<double> config;
    config.hidden = kHidden;
    config.latent = kLatent;
    config.classes = kClasses;
    config.seed = seed;
    const cq::train::SyntheticTask<double> base_task(config);
    std::mt19937_64 rng(seed * 7919 + 1);

    // Tasks: index 0 is the base task, 1..3 the domains.
    std::vector<cq::train::SyntheticTask<double>> truths{base_task};
    for (int j = 0; j < 3; ++j)
      truths.push_back(base_task.with_abduction(domain_truth(base_task.ground_truth().abduction().params(), j, rng)));
    std::vector<Task> tasks;
    for (int t = 0; t < 4; ++t) {
      const auto& truth = truths[static_cast<std::size_t>(t)];
      const std::size_t n_train = t == 0 ? z.base_train : z.domain_train;
      const auto draw = [&](std::size_t n) {
        return truth.label(hidden_states(n, t - 1, rng), rng());
      };
      tasks.push_back({t == 0 ? std::string("base") : kDomainName[static_cast<std::size_t>(t - 1)], draw(n_train),
                       draw(z.validation), draw(z.test)});
    }

    // The base head, trained on the base task from a random start.
    cq::head::HeadInit<double> init;
    init.abduction.scale = 0.5;
    Head base = Head::random(kHidden, kLatent, kClasses, rng, init);
    cq::train::HeadTrainingOptions<double> train;
    train.epochs = z.base_epochs;
    train.batch_size = 64;
    train.optimizer.learning_rate = 0.01;
    train.seed = seed;
    cq::train::train_head(base, tasks[0].train, train);
    const Abduction w0 = base.abduction().params();

    // Adaptation of the abduction to every domain, four ways.
    cq::domain::AdaptationOptions<double> adapt;
    adapt.epochs = z.adapt_epochs;
    adapt.batch_size = 64;
    adapt.optimizer.learning_rate = 0.01;
    struct Adapted {
      Abduction plain, anchored, low_rank, residual;
      cq::domain::AdaptationResult<double> plain_result, anchored_result, low_rank_result, residual_result;
      double budget;
    };
    std::vector<Adapted> adapted;
    std::vector<cq::domain::KnowledgeDelta<double>> anchored_deltas, plain_deltas, low_rank_deltas, residual_deltas;
    constexpr double kBudgetShare = 0.3;
    for (std::size_t j = 0; j < 3; ++j) {
      const auto& data = tasks[j + 1].train;
      adapt.seed = seed + j;
      Adapted a;
      a.plain_result = cq::domain::adapt_abduction(base, data, adapt);
      auto anchored = adapt;
      a.budget = kBudgetShare * a.plain_result.mean_kl;
      anchored.kl_budget = a.budget;
      a.anchored_result = cq::domain::adapt_abduction(base, data, anchored);
      a.low_rank_result = cq::domain::adapt_abduction(base, data, adapt, LowRank{seed + j});
      a.residual_result = cq::domain::adapt_abduction(base, data, adapt, Residual{});
      const auto delta = [&](const cq::domain::AdaptationResult<double>& r, const char* kind) {
        return cq::domain::make_delta<cq::head::ExpLink>(std::string(kDomainName[j]) + " (" + kind + ")", w0,
                                                         r.adapted, r.mean_kl, r.max_kl, r.kl_weight);
      };
      plain_deltas.push_back(delta(a.plain_result, "plain"));
      anchored_deltas.push_back(delta(a.anchored_result, "KL"));
      low_rank_deltas.push_back(delta(a.low_rank_result, "low rank"));
      residual_deltas.push_back(delta(a.residual_result, "residual"));
      adapted.push_back(std::move(a));
    }

    // Fusion weights tuned on the validation sets of all four tasks (mean accuracy).
    const auto fused = [&](const std::vector<cq::domain::KnowledgeDelta<double>>& deltas, const Vector<double>& alpha) {
      return cq::domain::fuse_abduction<cq::head::ExpLink>(w0, std::span<const cq::domain::KnowledgeDelta<double>>(deltas),
                                                           alpha);
    };
    const auto mean_validation_accuracy = [&](const Abduction& w) {
      const Head h = with_abduction(base, w);
      double sum = 0;
      for (const auto& t : tasks) sum += score(h, t.validation).accuracy;
      return sum / double(tasks.size());
    };
    const auto tune = [&](const std::vector<cq::domain::KnowledgeDelta<double>>& deltas) {
      const std::array<double, 6> grid = {0, 0.25, 0.5, 0.75, 1, 1.25};
      Vector<double> best = Vector<double>::Ones(3);
      double best_score = -1;
      for (double a0 : grid)
        for (double a1 : grid)
          for (double a2 : grid) {
            Vector<double> alpha(3);
            alpha << a0, a1, a2;
            const double s = mean_validation_accuracy(fused(deltas, alpha));
            if (s > best_score) best_score = s, best = alpha;
          }
      return best;
    };
    const Vector<double> ones = Vector<double>::Ones(3);
    const Vector<double> alpha_anchored = tune(anchored_deltas);
    const Vector<double> alpha_plain = tune(plain_deltas);

    // ---- measurements -----------------------------------------------------------------------
    RowMatrix<double> all_test_hidden(0, static_cast<Eigen::Index>(kHidden));
    for (const auto& t : tasks) {
      RowMatrix<double> next(all_test_hidden.rows() + t.test.hidden.rows(), all_test_hidden.cols());
      next << all_test_hidden, t.test.hidden;
      all_test_hidden = std::move(next);
    }
    struct Row {
      std::string model;
      std::array<Score, 4> scores;
      double kl_base, kl_all;
    };
    const auto measure = [&](std::string name, const Abduction& w) {
      const Head h = with_abduction(base, w);
      Row r{std::move(name), {}, mean_kl(base, w, tasks[0].test.hidden), mean_kl(base, w, all_test_hidden)};
      for (std::size_t t = 0; t < 4; ++t) r.scores[t] = score(h, tasks[t].test);
      return r;
    };
    std::vector<Row> single;  // per-domain models
    single.push_back(measure("base head", w0));
    for (std::size_t j = 0; j < 3; ++j) {
      const std::string d = std::string(kDomainName[j]).substr(0, 1);
      single.push_back(measure(d + ": plain fine-tuning", adapted[j].plain_result.adapted));
      single.push_back(measure(d + ": KL-anchored, eps = " + fixed(adapted[j].budget, 2), adapted[j].anchored_result.adapted));
      single.push_back(measure(d + ": low rank r = " + std::to_string(kRank), adapted[j].low_rank_result.adapted));
      single.push_back(measure(d + ": residual latent adapter", adapted[j].residual_result.adapted));
    }
    const auto alpha_text = [](const Vector<double>& a) {
      return "(" + fixed(a(0), 2) + ", " + fixed(a(1), 2) + ", " + fixed(a(2), 2) + ")";
    };
    std::vector<Row> fusion;
    fusion.push_back(measure("base head", w0));
    fusion.push_back(measure("fused KL-anchored deltas, alpha = 1", fused(anchored_deltas, ones)));
    fusion.push_back(measure("fused KL-anchored deltas, tuned alpha " + alpha_text(alpha_anchored),
                             fused(anchored_deltas, alpha_anchored)));
    fusion.push_back(measure("fused plain deltas, alpha = 1", fused(plain_deltas, ones)));
    fusion.push_back(measure("fused plain deltas, tuned alpha " + alpha_text(alpha_plain), fused(plain_deltas, alpha_plain)));
    fusion.push_back(measure("fused low-rank deltas, alpha = 1", fused(low_rank_deltas, ones)));
    fusion.push_back(measure("fused residual adapters, alpha = 1", fused(residual_deltas, ones)));

    const auto certificate = [&](const std::vector<cq::domain::KnowledgeDelta<double>>& deltas, const Vector<double>& a) {
      return cq::domain::fusion_report<cq::head::ExpLink>(
          w0, std::span<const cq::domain::KnowledgeDelta<double>>(deltas), a, all_test_hidden);
    };
    const auto cert_anchored = certificate(anchored_deltas, ones);
    const auto cert_plain = certificate(plain_deltas, ones);
    const auto cert_tuned = certificate(anchored_deltas, alpha_anchored);

    // Ground-truth reference: each task's own truth (the best any model can do on it).
    std::array<Score, 4> truth_scores;
    for (std::size_t t = 0; t < 4; ++t) {
      auto h = truths[t].ground_truth();
      truth_scores[t] = score(h, tasks[t].test);
    }
    const double base_scale = base.abduction().forward(tasks[0].test.hidden).scale.mean();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    // ---- the report -------------------------------------------------------------------------
    std::ostringstream md;
    md << "# Experiment: domain adaptation and fusion\n\n"
       << "<!-- Generated by examples/domain_fusion" << (quick ? " --quick" : "")
       << "; do not edit by hand: rerun it. -->\n\n"
       << "## Domain adaptation and fusion of the abduction\n\n"
       << "Setup (synthetic, seed " << seed << (quick ? ", quick sizes" : "") << "): hidden states h in R^" << kHidden
       << ", latent D = " << kLatent << ", " << kClasses - 1 << " classes plus `<NUM>`. The base task's ground truth is a random causal head "
       << "(train::SyntheticTask). Three domains share its action network and differ only in the abduction: "
       << "**A** moves loc along a direction of its own, only through a marker feature that is on (mean 3) for A's inputs and "
       << "almost silent elsewhere; **B** additionally rewrites how loc depends on the ordinary features (a rank-2 change that "
       << "also applies to base inputs, so it conflicts with the base task); **C** widens half of the latent scales and "
       << "sharpens the other half through its marker. A base head is trained on " << z.base_train
       << " base positions (" << z.base_epochs << " epochs, every layer); then only its abduction is adapted on " << z.domain_train
       << " positions per domain (" << z.adapt_epochs << " epochs, AdamW lr 0.01, action and noise frozen): plain fine-tuning "
       << "(lambda = 0), KL-anchored fine-tuning with a budget eps = " << kBudgetShare
       << " x the plain run's mean KL (dual ascent, `domain/adaptation.hpp`), a LoRA-style rank-" << kRank
       << " delta W' = W + A B, and a residual latent adapter loc' = loc + R loc + r, scale' = scale e^c. "
       << "Scores are on held-out test sets (" << z.test << " positions per task): accuracy, and the median absolute error of "
       << "the `<NUM>` value (the value is Cauchy-distributed, so its mean error is meaningless). "
       << "KL is the mean KL(P_base(U|h) || P_model(U|h)) over the base test inputs (\"KL base\") and over all four test sets (\"KL all\"). "
       << "The trained base head's latent scales are small (mean " << fixed(base_scale, 3)
       << " on base inputs), so moderate moves of loc cost many nats and the budgets below are large numbers. "
       << "The ground-truth rows score each task's own truth head with its one-vs-rest decision; that decision is not the "
       << "Bayes-optimal one, so a trained head can beat it.\n\n";

    const auto table = [&](const std::vector<Row>& rows) {
      md << "| model | base acc | base MedAE | A acc | A MedAE | B acc | B MedAE | C acc | C MedAE | KL base | KL all |\n"
         << "|---|---|---|---|---|---|---|---|---|---|---|\n";
      md << "| ground-truth head of each task |";
      for (const auto& s : truth_scores) md << ' ' << pct(s.accuracy) << " | " << fixed(s.median_error) << " |";
      md << " – | – |\n";
      for (const auto& r : rows) {
        md << "| " << r.model << " |";
        for (const auto& s : r.scores) md << ' ' << pct(s.accuracy) << " | " << fixed(s.median_error) << " |";
        md << ' ' << fixed(r.kl_base) << " | " << fixed(r.kl_all) << " |\n";
      }
      md << '\n';
    };
    md << "### One domain at a time (accuracy in %)\n\n";
    table(single);
    md << "### Fusion W_base + sum_j alpha_j delta_j of the three domains' deltas\n\n"
       << "Tuned alpha: the grid {0, 0.25, ..., 1.25}^3 maximising the mean validation accuracy over the four tasks.\n\n";
    table(fusion);

    const auto cert_line = [&](const char* what, const cq::domain::FusionReport<double>& c) {
      const auto& s = c.summary;
      md << "| " << what << " | " << s.positions << " | " << fixed(s.mean_exact_kl) << " | " << fixed(s.max_exact_kl) << " | "
         << fixed(s.mean_design_estimate) << " | " << pct(double(s.estimate_exceeded) / double(s.positions)) << " % | "
         << fixed(s.mean_bound) << " | " << fixed(s.max_bound_ratio) << " | " << s.violations << " |\n";
    };
    md << "### Certified KL bounds of the fusions (per position, all test inputs)\n\n"
       << "| fusion | positions | mean exact KL | max exact KL | mean design estimate | exact > estimate | mean certified bound | max exact/bound | violations |\n"
       << "|---|---|---|---|---|---|---|---|---|\n";
    cert_line("KL-anchored deltas, alpha = 1", cert_anchored);
    cert_line("KL-anchored deltas, tuned alpha", cert_tuned);
    cert_line("plain deltas, alpha = 1", cert_plain);
    md << '\n';

    // ---- what the numbers show (every sentence below is computed from the tables) -------------
    md << "### What the numbers show\n\n";
    const double base_acc = single[0].scores[0].accuracy;
    for (std::size_t j = 0; j < 3; ++j) {
      const auto& plain = single[1 + 4 * j];
      const auto& anchored = single[2 + 4 * j];
      const auto& low_rank = single[3 + 4 * j];
      const auto& residual = single[4 + 4 * j];
      const std::size_t t = j + 1;
      md << "- Domain " << kDomainName[j] << ": plain fine-tuning reaches " << pct(plain.scores[t].accuracy)
         << " % on the domain (base head: " << pct(single[0].scores[t].accuracy) << " %) and "
         << pct(plain.scores[0].accuracy) << " % on the base task (base head: " << pct(base_acc) << " %). "
         << "The KL-anchored delta (eps = " << fixed(adapted[j].budget, 2) << ", achieved "
         << fixed(adapted[j].anchored_result.mean_kl) << ") is " << versus(anchored.scores[t].accuracy, plain.scores[t].accuracy)
         << " plain fine-tuning on the domain and " << versus(anchored.scores[0].accuracy, plain.scores[0].accuracy)
         << " it on the base task, at " << fixed(anchored.kl_base / std::max(plain.kl_base, 1e-300), 2)
         << " x its KL on base inputs. Low rank: " << versus(low_rank.scores[t].accuracy, plain.scores[t].accuracy)
         << " plain on the domain; residual adapter: " << versus(residual.scores[t].accuracy, plain.scores[t].accuracy)
         << " plain on the domain.\n";
    }
    double forgetting_plain = 0, forgetting_anchored = 0;
    for (std::size_t j = 0; j < 3; ++j) {
      forgetting_plain += base_acc - single[1 + 4 * j].scores[0].accuracy;
      forgetting_anchored += base_acc - single[2 + 4 * j].scores[0].accuracy;
    }
    md << "- Forgetting (base accuracy lost, averaged over the domains): plain " << fixed(100 * forgetting_plain / 3, 1)
       << " points, KL-anchored " << fixed(100 * forgetting_anchored / 3, 1) << " points. "
       << (forgetting_anchored < forgetting_plain - 0.005
               ? "The anchor reduces forgetting, as the design claims."
               : "The anchor does not reduce forgetting here: the design's claim does not hold in this setting.")
       << " The anchor is measured on the domain's own inputs, so it also charges for the change the domain needs; "
       << "forgetting happens on base inputs, which it only sees through the shared weights.\n";
    double forgetting_low_rank = 0, forgetting_residual = 0, gain_low_rank = 0, gain_anchored = 0;
    for (std::size_t j = 0; j < 3; ++j) {
      forgetting_low_rank += base_acc - single[3 + 4 * j].scores[0].accuracy;
      forgetting_residual += base_acc - single[4 + 4 * j].scores[0].accuracy;
      gain_low_rank += single[3 + 4 * j].scores[j + 1].accuracy - single[0].scores[j + 1].accuracy;
      gain_anchored += single[2 + 4 * j].scores[j + 1].accuracy - single[0].scores[j + 1].accuracy;
    }
    md << "- The alternatives: the low-rank delta forgets " << fixed(100 * forgetting_low_rank / 3, 1)
       << " points and gains " << fixed(100 * gain_low_rank / 3, 1) << " points on its domain on average (KL-anchored full delta: "
       << fixed(100 * forgetting_anchored / 3, 1) << " and " << fixed(100 * gain_anchored / 3, 1)
       << "); the residual adapter forgets " << fixed(100 * forgetting_residual / 3, 1) << " points. "
       << (forgetting_low_rank < forgetting_anchored - 0.005 && gain_low_rank > gain_anchored - 0.005
               ? "The low-rank delta forgets less without learning less: the design's argument against it does not hold in "
                 "this setting (plausibly because its rank limit acts as a regulariser)."
               : "The KL-anchored full delta is at least as good a trade-off as the low-rank delta here.")
       << ' '
       << (forgetting_residual > forgetting_anchored + 0.005
               ? "The residual adapter forgets more than the KL-anchored delta, as the design expects."
               : "The residual adapter does not forget more than the KL-anchored delta.")
       << '\n';
    const auto mean_acc = [](const Row& r) {
      double s = 0;
      for (const auto& x : r.scores) s += x.accuracy;
      return s / 4;
    };
    // The best per-task model: the base head on the base task, the best of the four adaptations on each domain.
    double specialists = base_acc;
    for (std::size_t j = 0; j < 3; ++j) {
      double best = 0;
      for (std::size_t m = 1; m <= 4; ++m) best = std::max(best, single[m + 4 * j].scores[j + 1].accuracy);
      specialists += best;
    }
    specialists /= 4;
    md << "- Mean accuracy over the four tasks: base head " << pct(mean_acc(fusion[0])) << " %, fused KL-anchored deltas "
       << pct(mean_acc(fusion[1])) << " % (alpha = 1) and " << pct(mean_acc(fusion[2]))
       << " % (tuned), fused plain deltas " << pct(mean_acc(fusion[3])) << " % (alpha = 1) and " << pct(mean_acc(fusion[4]))
       << " % (tuned), fused low-rank " << pct(mean_acc(fusion[5])) << " %, fused residual adapters " << pct(mean_acc(fusion[6]))
       << " %; the best specialist per task (base head on base, best adapted model on each domain) would average " << pct(specialists)
       << " %. "
       << (mean_acc(fusion[1]) > mean_acc(fusion[3]) + 0.005
               ? "Fusing KL-anchored deltas beats fusing plain ones at alpha = 1"
               : "Fusing KL-anchored deltas does not beat fusing plain ones at alpha = 1 (that claim does not hold here)")
       << (mean_acc(fusion[1]) > mean_acc(fusion[0]) + 0.005 ? ", and beats the base head." : ", but it does not beat the base head: untuned fusion does not pay off here.")
       << ' '
       << (mean_acc(fusion[2]) >= specialists - 0.005
               ? "The tuned fusion matches the specialists."
               : "No fusion matches the specialists: one set of weights cannot serve every task as well as a model per task.")
       << '\n';
    md << "- Interference: at alpha = 1 the fused KL-anchored deltas score " << pct(fusion[1].scores[0].accuracy)
       << " % on the base task (base head " << pct(base_acc) << " %, each KL-anchored delta alone "
       << pct(single[2].scores[0].accuracy) << " / " << pct(single[6].scores[0].accuracy) << " / "
       << pct(single[10].scores[0].accuracy) << " %). "
       << (fusion[1].scores[0].accuracy < std::min({single[2].scores[0].accuracy, single[6].scores[0].accuracy,
                                                    single[10].scores[0].accuracy}) - 0.005
               ? "Summed deltas interfere: the fusion forgets more than any single delta, so a KL budget per domain does not "
                 "make the deltas additive."
               : "The fusion forgets no more than the worst single delta.")
       << " Tuning alpha chose " << alpha_text(alpha_anchored) << ".\n";
    md << "- The certified bound held at every one of " << cert_anchored.summary.positions * 3
       << " checked positions (violations: " << cert_anchored.summary.violations + cert_plain.summary.violations + cert_tuned.summary.violations
       << "). It is conservative: at alpha = 1 the mean bound is " << fixed(cert_anchored.summary.mean_bound / cert_anchored.summary.mean_exact_kl, 1)
       << " x the mean exact KL for the KL-anchored deltas. ";
    const std::size_t exceeded = cert_anchored.summary.estimate_exceeded + cert_plain.summary.estimate_exceeded +
                                 cert_tuned.summary.estimate_exceeded;
    if (exceeded > 0)
      md << "The design estimate (sum |alpha_j| sqrt eps_j)^2 is not a bound: the exact KL exceeds it at " << exceeded
         << " of these positions.\n";
    else
      md << "In these fusions the exact KL stayed below the design estimate (sum |alpha_j| sqrt eps_j)^2 at every position; "
            "the estimate is still not a bound in general (the test suite's random fusions exceed it, docs/math.md).\n";
    md << "- Budgets are per domain and on the domain's training inputs; the KL of a fusion on other inputs (\"KL all\") is "
       << "what the certificates bound per position, with each position's own domain KLs as budgets.\n\n"
       << "Run time: " << fixed(seconds, 1) << " s (wall clock).\n";

    std::printf("%s", md.str().c_str());
    if (!report_path.empty()) cq::write_file_atomically(report_path, md.str());
    const bool ok = cert_anchored.certified() && cert_plain.certified() && cert_tuned.certified();
    return ok ? 0 : 3;
  });
}
