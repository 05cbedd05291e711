// Gradients of every tensor of a Qwen2 / Qwen2.5 checkpoint for one token sequence, written under
// the checkpoint's tensor names. Two losses (the definitions of tests/data/qwen2/grad/README.md):
//   hidden  L = sum over t, i of G[t, i] h[t, i], h the output of the final RMSNorm, G from --upstream
//   lm      L = mean over t = 0..T-2 of the cross-entropy of the logits at t against token t+1
// With --compare, every tensor is checked against a reference file: the program fails unless
// ||g - g_ref|| / ||g_ref|| <= --tolerance for all of them.
//
//   qwen_backward --model DIR --tokens 1,5,9 [--upstream G.npy] --loss hidden|lm --out grads.safetensors
//                 [--threads 2] [--compare REF.safetensors --tolerance 1e-4]

#include "cli/program.hpp"

#include <causalqwen/backbone/qwen2_parameters.hpp>
#include <causalqwen/backbone/qwen2_training.hpp>
#include <causalqwen/domain/features.hpp>
#include <causalqwen/io/safetensors.hpp>

#include "token_list.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace causalqwen;

int main(int argc, char** argv) {
  CLI::App app{"Qwen2 backward pass: gradients of every checkpoint tensor"};
  std::string model_dir, token_list, upstream_file, loss_kind, out_file, compare_file;
  int threads = 1;
  double tolerance = 1e-4;
  app.add_option("--model", model_dir, "checkpoint directory (config.json + safetensors)")->required();
  app.add_option("--tokens", token_list, "comma-separated token ids, e.g. 1,5,9")->required();
  app.add_option("--loss", loss_kind, "hidden (needs --upstream) or lm")->required()->check(CLI::IsMember({"hidden", "lm"}));
  app.add_option("--upstream", upstream_file, "G [T x H] as .npy (float32 or float64), for --loss hidden");
  app.add_option("--out", out_file, "gradients as safetensors (float32, checkpoint names)")->required();
  app.add_option("--threads", threads, "CPU threads")->check(CLI::PositiveNumber);
  app.add_option("--compare", compare_file, "reference gradients to compare with");
  app.add_option("--tolerance", tolerance, "largest relative error allowed per tensor with --compare");
  return causalqwen::programs::run_program("qwen_backward", app, argc, argv, [&] {
    const std::vector<TokenId> tokens = parse_token_list(token_list);
    const auto start = std::chrono::steady_clock::now();
    const TrainableQwen2<> model(model_dir, CpuBackend<float>(threads));
    const auto loaded = std::chrono::steady_clock::now();
    auto accumulator = model.zero_gradients();
    double loss = 0;
    if (loss_kind == "lm") {
      loss = next_token_cross_entropy(model, std::span<const TokenId>(tokens), accumulator);
    } else {
      require(!upstream_file.empty(), "--loss hidden needs --upstream G.npy");
      const RowMatrix<float> upstream = domain::load_features<float>(upstream_file, model.hidden_size());
      require(upstream.rows() == static_cast<Eigen::Index>(tokens.size()), upstream_file, ": ", upstream.rows(),
              " rows of G for ", tokens.size(), " tokens");
      const auto tape = model.forward(std::span<const TokenId>(tokens));
      loss = (upstream.cast<double>().array() * model.hidden(tape).cast<double>().array()).sum();
      model.embeddings_backward(tokens, model.backward(tape, upstream, accumulator), accumulator);
    }
    const Qwen2Parameters<float> gradients = model.gradients(accumulator);
    const auto done = std::chrono::steady_clock::now();

    io::SafetensorsWriter writer;
    writer.set_metadata("loss", loss_kind);
    char value[32];
    std::snprintf(value, sizeof value, "%.17g", loss);
    writer.set_metadata("loss_value", value);
    add_qwen2_tensors(gradients, writer);
    writer.write(out_file);
    std::printf("model: %s, %zu tokens, loss %s = %.9g\n", model_dir.c_str(), tokens.size(), loss_kind.c_str(), loss);
    std::printf("gradients of %zu tensors written to %s\n", writer.names().size(), out_file.c_str());
    std::printf("load %.3f s, forward + backward %.3f s\n", std::chrono::duration<double>(loaded - start).count(),
                std::chrono::duration<double>(done - loaded).count());

    if (!compare_file.empty()) {
      const io::SafetensorsReader reference(compare_file);
      require(reference.names().size() == writer.names().size(), compare_file, ": ", reference.names().size(),
              " tensors, the model has ", writer.names().size());
      double worst = 0;
      std::string worst_name;
      for_each_qwen2_tensor(gradients, [&](const std::string& name, auto view, const std::vector<std::int64_t>&) {
        const RowMatrix<double> expected = reference.matrix<double>(name);
        require(expected.rows() == view.rows() && expected.cols() == view.cols(), compare_file, ": tensor '", name,
                "' has another shape");
        const double error = (view.template cast<double>() - expected).norm() / expected.norm();
        if (!(error <= worst)) worst = error, worst_name = name;
      });
      std::printf("largest relative error against %s: %.3g (%s), tolerance %.3g\n", compare_file.c_str(), worst,
                  worst_name.c_str(), tolerance);
      if (!(worst <= tolerance)) {
        std::fprintf(stderr, "qwen_backward: error: gradients differ from the reference beyond the tolerance\n");
        return 1;
      }
    }
    return 0;
  });
}
