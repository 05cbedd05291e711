#pragma once
// `causalqwen train` (and the causal_train program): end-to-end training of a causal language
// model — backbone, <NUM> value encoding and causal head — on text files or JSONL, from a Qwen2
// checkpoint or from scratch; the trained model is written as a Hugging Face directory
// (config.json, model.safetensors, tokenizer.json) with its causal head and encoding beside.

#include "cli/plot.hpp"

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace causalqwen::cli {

struct TrainCommand {
  using Model = model::TrainableCausalLM<CpuBackend<float>>;

  std::filesystem::path model_dir, config_file, tokenizer_file, out_dir, checkpoint, csv_log, plot_file;
  std::vector<std::filesystem::path> data;
  std::string parts = "all", save_dtype = "f32", schedule = "cosine";
  std::size_t sequence_length = 128, threads = 1;
  double validation_fraction = 0.1, init_std = 0.02, learning_rate = 1e-3, final_fraction = 0.1;
  model::CausalTrainingOptions<float> training;
  bool quiet = false, recompute = false;

  void attach(CLI::App& app) {
    auto& t = training;
    t.optimizer.max_grad_norm = 1;
    auto* model_option = app.add_option("--model", model_dir, "Qwen2 checkpoint or causal model directory to start from");
    auto* config_option = app.add_option("--config", config_file, "config.json of a fresh model (training from scratch)");
    model_option->excludes(config_option);
    app.add_option("--tokenizer", tokenizer_file, "tokenizer.json of a fresh model")->needs(config_option);
    app.add_option("--data", data, "training text: plain text (documents separated by blank lines) or .jsonl "
                                   "({\"text\": ...} per line); repeatable")->required();
    app.add_option("--out", out_dir, "directory for the trained model")->required();
    app.add_option("--steps", t.steps, "optimiser steps")->check(CLI::Range(std::size_t(1), std::size_t(1) << 40));
    app.add_option("--batch", t.batch_size, "sequences per optimiser step (over all ranks)")->check(CLI::PositiveNumber);
    app.add_option("--micro-batch", t.micro_batch, "sequences per forward/backward pass (gradient accumulation); 0: all");
    app.add_option("--seq-len", sequence_length, "tokens per packed sequence")->check(CLI::Range(2, 1 << 20));
    app.add_option("--lr", learning_rate, "peak learning rate")->check(CLI::PositiveNumber);
    app.add_option("--warmup", t.optimizer.schedule.warmup_steps, "linear warm-up steps");
    app.add_option("--schedule", schedule, "learning rate after the warm-up: cosine (decays to --final-lr-fraction "
                   "at the last step) or constant")
        ->check(CLI::IsMember({"cosine", "constant"}))
        ->capture_default_str();
    app.add_option("--final-lr-fraction", final_fraction, "the cosine schedule's last factor")->check(CLI::Range(0.0, 1.0));
    app.add_option("--weight-decay", t.optimizer.weight_decay, "AdamW's decoupled weight decay")->check(CLI::NonNegativeNumber);
    app.add_option("--clip", t.optimizer.max_grad_norm, "clip the global gradient norm to this (0: no clipping)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--lambda", t.loss.lambda, "weight of the <NUM> value term")->check(CLI::NonNegativeNumber);
    app.add_option("--gate-alpha", t.loss.gate_alpha,
                   "the value term's gate alpha + (1 - alpha) P_<NUM>: 0 is the design's gate, 1 no gate")
        ->check(CLI::Range(0.0, 1.0));
    app.add_flag("--no-gate-gradient{false}", t.loss.gate_gradient,
                 "hold P_<NUM> constant in the value term (the gate then never pushes P_<NUM> down)");
    app.add_option("--train", parts, "what trains: all, head, abduction or last:N (layers)");
    app.add_option("--seed", t.seed, "seed of the batches, the split and a fresh model's weights");
    app.add_option("--init-std", init_std, "standard deviation of a fresh model's weights")->check(CLI::PositiveNumber);
    app.add_option("--validation-fraction", validation_fraction, "documents held out for validation")
        ->check(CLI::Range(0.0, 0.9));
    app.add_option("--eval-every", t.evaluate_every, "validation loss every this many steps (0: never)");
    app.add_option("--validation-sequences", t.validation_sequences, "validation sequences evaluated")
        ->check(CLI::PositiveNumber);
    app.add_option("--checkpoint", checkpoint, "checkpoint directory (model + optimiser state)");
    app.add_option("--checkpoint-every", t.checkpoint_every, "checkpoint every this many steps (0: at the end)");
    app.add_flag("--resume", t.resume, "continue from --checkpoint when it exists");
    auto* log = app.add_option("--log", csv_log, "per-step CSV log (causalqwen plot --log draws it)");
    app.add_option("--plot", plot_file, "draw the training and validation loss of --log into this SVG file")
        ->needs(log);
    app.add_option("--save-dtype", save_dtype, "dtype of the written model.safetensors")
        ->check(CLI::IsMember({"f32", "bf16"}));
    app.add_option("--threads", threads, "CPU threads")->check(CLI::Range(1, 1024));
    app.add_flag("--recompute", recompute, "keep only each layer's input and recompute its activations in the "
                                           "backward (gradient checkpointing: less memory, one more forward pass)");
    app.add_flag("--quiet", quiet, "no progress bar");
  }

  /// Trains over `communicator`'s ranks (train::SingleProcess, or an MPI communicator).
  template <class Communicator>
  int run(Communicator&& communicator) {
    require(!model_dir.empty() || (!config_file.empty() && !tokenizer_file.empty()),
            "give --model, or --config and --tokenizer for a fresh model");
    const bool lead = communicator.rank() == 0;
    const CpuBackend<float> backend(static_cast<int>(threads));
    Model lm = [&] {
      if (!model_dir.empty()) return Model::load(model_dir, backend);
      const Qwen2Config config = load_qwen2_config(config_file);
      const auto parameters = load_qwen2_parameters<float>(
          config, model::random_qwen2_tensors(config, training.seed, float(init_std)), "a fresh model");
      return Model::from_base(io::read_file(tokenizer_file, "tokenizer file"), parameters, {}, backend,
                              tokenizer_file.string());
    }();

    lm.set_recompute_activations(recompute);
    std::vector<std::string> documents;
    for (const auto& file : data)
      for (std::string& d : model::read_documents(file)) documents.push_back(std::move(d));
    const auto split = model::split_documents(std::move(documents), validation_fraction, training.seed);
    const model::SequenceSet sequences = lm.pack(split.training, sequence_length);
    const model::SequenceSet validation = lm.pack(split.validation, sequence_length);
    require(sequences.size() > 0, "the training text gives no sequences of at least 2 tokens");
    if (validation.size() == 0) training.evaluate_every = 0;

    training.parts = model::TrainedParts::parse(parts, lm.backbone().config().num_hidden_layers);
    training.optimizer.learning_rate = float(learning_rate);
    training.optimizer.schedule.kind = schedule == "cosine" ? train::ScheduleKind::cosine : train::ScheduleKind::constant;
    training.optimizer.schedule.total_steps = training.steps;
    training.optimizer.schedule.final_fraction = float(final_fraction);
    training.csv_log = csv_log;
    training.checkpoint = checkpoint;
    training.progress = !quiet;
    if (lead) {
      const Qwen2Config& c = lm.backbone().config();
      std::printf("model: %lld layers, hidden %lld, %lld heads (%lld key/value), vocabulary %lld + <NUM> = %lld\n",
                  (long long)c.num_hidden_layers, (long long)c.hidden_size, (long long)c.num_attention_heads,
                  (long long)c.num_key_value_heads, (long long)lm.num_token(), (long long)lm.num_token() + 1);
      std::printf("data: %zu training documents -> %zu sequences (%zu targets); %zu validation documents -> %zu "
                  "sequences (%zu targets); ranks %d\n",
                  split.training.size(), sequences.size(), sequences.targets(), split.validation.size(),
                  validation.size(), validation.targets(), communicator.size());
      const std::size_t share = (training.batch_size + communicator.size() - 1) / communicator.size();
      print_memory(lm, training.micro_batch > 0 ? std::min(training.micro_batch, share) : share);
    }

    const auto report = model::train_causal_lm(lm, sequences, validation, training, communicator);
    if (!lead) return 0;
    double first = NAN, last = NAN;
    for (const auto& r : report.log)
      if (!std::isnan(r.held_out_loss)) (std::isnan(first) ? first : last) = r.held_out_loss;
    if (!report.log.empty())
      std::printf("trained %zu steps in %.1f s (%.0f tokens/s); training loss %.4f -> %.4f\n", report.steps,
                  report.seconds, report.samples_per_second(), report.log.front().loss, report.log.back().loss);
    if (!std::isnan(first)) std::printf("validation loss %.4f -> %.4f\n", first, std::isnan(last) ? first : last);
    lm.save(out_dir, save_dtype == "bf16" ? io::DType::BF16 : io::DType::F32);
    std::printf("wrote %s\n", out_dir.string().c_str());
    if (!plot_file.empty()) write_chart(loss_chart(NumberTable(csv_log)), plot_file);
    return 0;
  }

  int run() { return run(train::SingleProcess{}); }

 private:
  static double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

  /// What the run holds in memory, from the shapes alone (float32 everywhere).
  void print_memory(const Model& lm, std::size_t micro_sequences) const {
    const Qwen2Config& c = lm.backbone().config();
    double parameters = 0;
    const auto all = lm.parameters();
    head::for_each_block(all, [&](const std::string&, const auto& block) { parameters += double(block.size()); });
    const double f = sizeof(float);
    const double per_token_layer =
        lm.backbone().recompute_activations()
            ? double(c.hidden_size)
            : double(5 * c.hidden_size + 2 * c.q_size() + 2 * c.kv_size() + 3 * c.intermediate_size);
    const double per_token = per_token_layer * double(c.num_hidden_layers) + 4.0 * double(lm.head().classes());
    const double tokens = double(micro_sequences * sequence_length);
    std::printf("memory: %.2f M parameters; weights %.1f MiB (+ %.1f MiB backend copy), gradients %.1f MiB x 2, "
                "AdamW %.1f MiB; activations %.1f KiB per token, %.1f MiB per micro-batch of %.0f tokens\n",
                parameters / 1e6, mib(f * parameters), mib(f * parameters), mib(f * parameters),
                mib(2 * f * parameters), f * per_token / 1024.0, mib(f * per_token * tokens), tokens);
  }
};

}  // namespace causalqwen::cli
