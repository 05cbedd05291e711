// Trains a causal language model end to end — backbone, <NUM> value encoding and causal head —
// on text files or JSONL, from a Qwen2 checkpoint or from scratch, and writes the trained model
// as a Hugging Face directory (config.json, model.safetensors, tokenizer.json) with its causal
// head and encoding beside. The same as `causalqwen train`, plus data parallelism over MPI ranks.
//
//   causal_train --model DIR --data FILE... --out DIR [--steps N --batch B --seq-len L ...]
//   causal_train --config config.json --tokenizer tokenizer.json --data FILE... --out DIR
//   mpirun -np 4 causal_train ...   (built with CAUSALQWEN_WITH_MPI: data-parallel over the ranks)

#include <causalqwen/causalqwen.hpp>
#ifdef CAUSALQWEN_WITH_MPI
#include <causalqwen/train/mpi_communicator.hpp>
#endif

#include "cli/program.hpp"
#include "cli/train.hpp"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
#ifdef CAUSALQWEN_WITH_MPI
  causalqwen::train::MpiSession mpi(argc, argv);
#endif
  CLI::App app{"End-to-end training of a causal language model on text with numbers"};
  causalqwen::cli::TrainCommand command;
  command.attach(app);
  return causalqwen::programs::run_program("causal_train", app, argc, argv, [&] {
#ifdef CAUSALQWEN_WITH_MPI
    return command.run(causalqwen::train::MpiCommunicator{});
#else
    return command.run();
#endif
  });
}
