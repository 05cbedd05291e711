// A training run SIGKILLed at random moments — inside a step, inside a checkpoint write, between
// them — resumes from what it left on disk and ends bit for bit where the uninterrupted run ends.
//
// The run to kill is this test program itself, started afresh (posix_spawn of /proc/self/exe on
// the helper case below), so that nothing of the parent process (its threads, its state) is
// inherited by the process that is killed.

#include <causalqwen/model/causal_lm_trainer.hpp>
#include <causalqwen/model/trainable_causal_lm.hpp>

#include "trainer_fixtures.hpp"
#include "../support/scratch.hpp"

#include <doctest/doctest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace causalqwen_tests_model_training_kill {

using namespace causalqwen;
using Model = model::TrainableCausalLM<CpuBackend<float>>;

namespace {
const std::filesystem::path scratch = causalqwen::testing::scratch_directory(__FILE__);
constexpr const char* kChildCase = "helper: the training run that the kill test kills";
constexpr const char* kDirVariable = "CAUSALQWEN_KILLED_RUN_DIR";
constexpr std::size_t kSteps = 10;

model::CausalTrainingOptions<float> run_options(const std::filesystem::path& checkpoint) {
  model::CausalTrainingOptions<float> o;
  o.steps = kSteps;
  o.batch_size = 4;
  o.seed = 17;
  o.optimizer.learning_rate = 3e-3f;
  o.optimizer.max_grad_norm = 1;
  o.checkpoint = checkpoint;
  o.checkpoint_every = 1;  // a checkpoint after every step: most kills land in or near one
  o.resume = true;
  return o;
}

void train_to_the_end(Model& lm, const std::filesystem::path& checkpoint) {
  const model::testing::TrainerSetup<float> setup;
  model::train_causal_lm(lm, lm.pack(setup.documents, 24), {}, run_options(checkpoint));
}

pid_t spawn_run(const std::filesystem::path& dir) {
  const std::string filter = std::string("--test-case=") + kChildCase;
  const std::string variable = std::string(kDirVariable) + "=" + dir.string();
  std::vector<std::string> args = {"/proc/self/exe", filter, "--no-skip=true", "--no-version=true"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = {variable};
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  REQUIRE(::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), envp.data()) == 0);
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}
}  // namespace

TEST_CASE("helper: the training run that the kill test kills" * doctest::skip()) {
  const char* dir = std::getenv(kDirVariable);
  REQUIRE(dir != nullptr);
  Model lm = model::testing::TrainerSetup<float>().fresh();
  train_to_the_end(lm, dir);
}

TEST_CASE("a training run killed at random moments resumes bit-exactly from its last checkpoint") {
  // A checkpoint left by an earlier run of this test would be resumed instead of trained.
  std::filesystem::remove_all(scratch / "straight");
  Model straight = model::testing::TrainerSetup<float>().fresh();
  train_to_the_end(straight, scratch / "straight");

  // How long a whole run takes in its own process, so that the kills fall inside it.
  const auto dir = scratch / "killed";
  // A kill of an earlier run of this test can leave any of the checkpoint's side directories.
  const auto remove_checkpoints = [&] {
    for (const char* suffix : {"", ".tmp", ".old", ".discarded"}) std::filesystem::remove_all(dir.string() + suffix);
  };
  remove_checkpoints();
  const auto start = std::chrono::steady_clock::now();
  const int status = wait_for(spawn_run(dir));
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  double whole_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  std::mt19937_64 rng(2026);
  std::uniform_real_distribution<double> when(0.1, 1.0);  // of whole_ms
  int killed_mid_run = 0;
  for (int trial = 0; trial < 12; ++trial) {
    remove_checkpoints();
    // Kill once or twice in a row, each time resuming what the previous process left.
    for (int kill = 0; kill < 1 + trial % 2; ++kill) {
      const pid_t pid = spawn_run(dir);
      std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(when(rng) * whole_ms));
      ::kill(pid, SIGKILL);
      const int s = wait_for(pid);
      killed_mid_run += WIFSIGNALED(s) ? 1 : 0;
      // A run that finished first means the timed run was slowed (say, by tests running beside
      // it); aim earlier from then on, so the kills keep landing inside runs.
      if (!WIFSIGNALED(s)) whole_ms *= 0.7;
    }
    // The same start as the run (a kill before the first checkpoint leaves nothing to resume).
    Model resumed = model::testing::TrainerSetup<float>().fresh();
    train_to_the_end(resumed, dir);
    CHECK(model::testing::identical(resumed, straight));
  }
  CHECK(killed_mid_run >= 6);  // most kills must have landed before the run ended
}

}  // namespace causalqwen_tests_model_training_kill
