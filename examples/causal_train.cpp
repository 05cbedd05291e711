// Trains a causal language model end to end — backbone, <NUM> value encoding and causal head —
// on text files or JSONL, from a Qwen2 checkpoint or from scratch, and writes the trained model
// as a Hugging Face directory (config.json, model.safetensors, tokenizer.json) with its causal
// head and encoding beside.
//
//   causal_train --model DIR --data FILE... --out DIR [--steps N --batch B --seq-len L ...]
//   causal_train --config config.json --tokenizer tokenizer.json --data FILE... --out DIR
//   mpirun -np 4 causal_train ...   (built with CAUSALQWEN_WITH_MPI: data-parallel over the ranks)

#include <causalqwen/causalqwen.hpp>
#ifdef CAUSALQWEN_WITH_MPI
#include <causalqwen/train/mpi_communicator.hpp>
#endif

#include "program.hpp"

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

using namespace causalqwen;
using Model = model::TrainableCausalLM<CpuBackend<float>>;

namespace {

struct Settings {
  std::filesystem::path model_dir, config_file, tokenizer_file, out_dir, checkpoint, csv_log;
  std::vector<std::filesystem::path> data;
  std::string parts = "all", save_dtype = "f32", schedule = "cosine";
  std::size_t sequence_length = 128, threads = 1;
  double validation_fraction = 0.1, init_std = 0.02, learning_rate = 1e-3, final_fraction = 0.1;
  model::CausalTrainingOptions<float> training;
  bool quiet = false, recompute = false;
};

double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

/// What the run holds in memory, from the shapes alone (float32 everywhere).
void print_memory(const Model& lm, std::size_t micro_sequences, std::size_t sequence_length) {
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
              parameters / 1e6, mib(f * parameters), mib(f * parameters), mib(f * parameters), mib(2 * f * parameters),
              f * per_token / 1024.0, mib(f * per_token * tokens), tokens);
}

template <class Communicator>
int run_training(Settings& s, Communicator&& communicator) {
  const bool lead = communicator.rank() == 0;
  const CpuBackend<float> backend(static_cast<int>(s.threads));
  Model lm = [&] {
    if (!s.model_dir.empty()) return Model::load(s.model_dir, backend);
    const Qwen2Config config = load_qwen2_config(s.config_file);
    const auto parameters = load_qwen2_parameters<float>(
        config, model::random_qwen2_tensors(config, s.training.seed, float(s.init_std)), "a fresh model");
    return Model::from_base(io::read_file(s.tokenizer_file, "tokenizer file"), parameters, {}, backend,
                            s.tokenizer_file.string());
  }();

  lm.set_recompute_activations(s.recompute);
  std::vector<std::string> documents;
  for (const auto& file : s.data)
    for (std::string& d : model::read_documents(file)) documents.push_back(std::move(d));
  const auto split = model::split_documents(std::move(documents), s.validation_fraction, s.training.seed);
  const model::SequenceSet data = lm.pack(split.training, s.sequence_length);
  const model::SequenceSet validation = lm.pack(split.validation, s.sequence_length);
  require(data.size() > 0, "the training text gives no sequences of at least 2 tokens");
  if (validation.size() == 0) s.training.evaluate_every = 0;

  s.training.parts = model::TrainedParts::parse(s.parts, lm.backbone().config().num_hidden_layers);
  s.training.optimizer.learning_rate = float(s.learning_rate);
  s.training.optimizer.schedule.kind =
      s.schedule == "cosine" ? train::ScheduleKind::cosine : train::ScheduleKind::constant;
  s.training.optimizer.schedule.total_steps = s.training.steps;
  s.training.optimizer.schedule.final_fraction = float(s.final_fraction);
  s.training.csv_log = s.csv_log;
  s.training.checkpoint = s.checkpoint;
  s.training.progress = !s.quiet;
  if (lead) {
    const Qwen2Config& c = lm.backbone().config();
    std::printf("model: %lld layers, hidden %lld, %lld heads (%lld key/value), vocabulary %lld + <NUM> = %lld\n",
                (long long)c.num_hidden_layers, (long long)c.hidden_size, (long long)c.num_attention_heads,
                (long long)c.num_key_value_heads, (long long)lm.num_token(), (long long)lm.num_token() + 1);
    std::printf("data: %zu training documents -> %zu sequences (%zu targets); %zu validation documents -> %zu "
                "sequences (%zu targets); ranks %d\n",
                split.training.size(), data.size(), data.targets(), split.validation.size(), validation.size(),
                validation.targets(), communicator.size());
    const std::size_t share = (s.training.batch_size + communicator.size() - 1) / communicator.size();
    print_memory(lm, s.training.micro_batch > 0 ? std::min(s.training.micro_batch, share) : share, s.sequence_length);
  }

  const auto report = model::train_causal_lm(lm, data, validation, s.training, communicator);
  if (!lead) return 0;
  double first = NAN, last = NAN;
  for (const auto& r : report.log)
    if (!std::isnan(r.held_out_loss)) (std::isnan(first) ? first : last) = r.held_out_loss;
  if (!report.log.empty())
    std::printf("trained %zu steps in %.1f s (%.0f tokens/s); training loss %.4f -> %.4f\n", report.steps,
                report.seconds, report.samples_per_second(), report.log.front().loss, report.log.back().loss);
  if (!std::isnan(first))
    std::printf("validation loss %.4f -> %.4f\n", first, std::isnan(last) ? first : last);
  lm.save(s.out_dir, s.save_dtype == "bf16" ? io::DType::BF16 : io::DType::F32);
  std::printf("wrote %s\n", s.out_dir.string().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
#ifdef CAUSALQWEN_WITH_MPI
  train::MpiSession mpi(argc, argv);
#endif
  Settings s;
  auto& t = s.training;
  t.optimizer.max_grad_norm = 1;
  CLI::App app{"End-to-end training of a causal language model on text with numbers"};
  auto* model_option = app.add_option("--model", s.model_dir, "Qwen2 checkpoint or causal model directory to start from");
  auto* config_option = app.add_option("--config", s.config_file, "config.json of a fresh model (training from scratch)");
  model_option->excludes(config_option);
  app.add_option("--tokenizer", s.tokenizer_file, "tokenizer.json of a fresh model")->needs(config_option);
  app.add_option("--data", s.data, "training text: plain text (documents separated by blank lines) or .jsonl "
                                   "({\"text\": ...} per line); repeatable")->required();
  app.add_option("--out", s.out_dir, "directory for the trained model")->required();
  app.add_option("--steps", t.steps, "optimiser steps")->check(CLI::Range(std::size_t(1), std::size_t(1) << 40));
  app.add_option("--batch", t.batch_size, "sequences per optimiser step (over all ranks)")->check(CLI::PositiveNumber);
  app.add_option("--micro-batch", t.micro_batch, "sequences per forward/backward pass (gradient accumulation); 0: all");
  app.add_option("--seq-len", s.sequence_length, "tokens per packed sequence")->check(CLI::Range(2, 1 << 20));
  app.add_option("--lr", s.learning_rate, "peak learning rate")->check(CLI::PositiveNumber);
  app.add_option("--warmup", t.optimizer.schedule.warmup_steps, "linear warm-up steps");
  app.add_option("--schedule", s.schedule, "learning rate after the warm-up: cosine (decays to --final-lr-fraction "
                 "at the last step) or constant")
      ->check(CLI::IsMember({"cosine", "constant"}))
      ->capture_default_str();
  app.add_option("--final-lr-fraction", s.final_fraction, "the cosine schedule's last factor")->check(CLI::Range(0.0, 1.0));
  app.add_option("--weight-decay", t.optimizer.weight_decay, "AdamW's decoupled weight decay")->check(CLI::NonNegativeNumber);
  app.add_option("--clip", t.optimizer.max_grad_norm, "clip the global gradient norm to this (0: no clipping)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--lambda", t.loss.lambda, "weight of the <NUM> value term")->check(CLI::NonNegativeNumber);
  app.add_option("--gate-alpha", t.loss.gate_alpha,
                 "the value term's gate alpha + (1 - alpha) P_<NUM>: 0 is the design's gate, 1 no gate")
      ->check(CLI::Range(0.0, 1.0));
  app.add_flag("--no-gate-gradient{false}", t.loss.gate_gradient,
               "hold P_<NUM> constant in the value term (the gate then never pushes P_<NUM> down)");
  app.add_option("--train", s.parts, "what trains: all, head, abduction or last:N (layers)");
  app.add_option("--seed", t.seed, "seed of the batches, the split and a fresh model's weights");
  app.add_option("--init-std", s.init_std, "standard deviation of a fresh model's weights")->check(CLI::PositiveNumber);
  app.add_option("--validation-fraction", s.validation_fraction, "documents held out for validation")
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--eval-every", t.evaluate_every, "validation loss every this many steps (0: never)");
  app.add_option("--validation-sequences", t.validation_sequences, "validation sequences evaluated")
      ->check(CLI::PositiveNumber);
  app.add_option("--checkpoint", s.checkpoint, "checkpoint directory (model + optimiser state)");
  app.add_option("--checkpoint-every", t.checkpoint_every, "checkpoint every this many steps (0: at the end)");
  app.add_flag("--resume", t.resume, "continue from --checkpoint when it exists");
  app.add_option("--log", s.csv_log, "per-step CSV log");
  app.add_option("--save-dtype", s.save_dtype, "dtype of the written model.safetensors")
      ->check(CLI::IsMember({"f32", "bf16"}));
  app.add_option("--threads", s.threads, "CPU threads")->check(CLI::Range(1, 1024));
  app.add_flag("--recompute", s.recompute, "keep only each layer's input and recompute its activations in the "
                                         "backward (gradient checkpointing: less memory, one more forward pass)");
  app.add_flag("--quiet", s.quiet, "no progress bar");
  return programs::run_program("causal_train", app, argc, argv, [&] {
    require(!s.model_dir.empty() || (!s.config_file.empty() && !s.tokenizer_file.empty()),
            "give --model, or --config and --tokenizer for a fresh model");
#ifdef CAUSALQWEN_WITH_MPI
    return run_training(s, train::MpiCommunicator{});
#else
    return run_training(s, train::SingleProcess{});
#endif
  });
}
