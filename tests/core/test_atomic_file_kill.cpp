// A writer of write_file_atomically SIGKILLed at random points, over and over: the destination
// must always be the old complete file or the new complete file, and the temporaries killed
// writers leave must not accumulate (the next writer of the same target removes them).
#include <causalqwen/core/atomic_file.hpp>

#include "../support/scratch.hpp"

#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

namespace causalqwen_tests_core_atomic_file_kill {

namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::size_t temporaries_in(const fs::path& dir) {
  std::size_t count = 0;
  for (const auto& entry : fs::directory_iterator(dir)) count += entry.path().filename().string().find(".tmp.") != std::string::npos;
  return count;
}

/// Distinct contents of distinct sizes, each a recognisable pattern.
std::string contents(std::size_t version) {
  std::string text(256 * 1024 + 4096 * version, '\0');
  std::uint64_t state = 0x9e3779b97f4a7c15ull * (version + 1);
  for (char& c : text) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    c = static_cast<char>(state >> 56);
  }
  return text;
}

/// Forks a child that writes `text` to `target` and exits; returns its pid.
pid_t spawn_writer(const fs::path& target, const std::string& text) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    try {
      causalqwen::write_file_atomically(target, text);
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(0);
  }
  REQUIRE(pid > 0);
  return pid;
}

}  // namespace

TEST_CASE("a writer killed at any point leaves the old or the new file, and no temporaries pile up") {
  const fs::path dir = causalqwen::testing::scratch_directory(__FILE__) / "killed_writers";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path target = dir / "checkpoint.bin";
  constexpr std::size_t versions = 4;
  std::vector<std::string> texts;
  for (std::size_t v = 0; v < versions; ++v) texts.push_back(contents(v));
  causalqwen::write_file_atomically(target, texts[0]);

  // How long one uninterrupted write takes here: the kill points are spread over 0 .. that.
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  REQUIRE(::waitpid(spawn_writer(target, texts[1]), &status, 0) > 0);
  REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  const auto full = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  std::size_t current = 1;

  std::mt19937_64 random(20261202);
  std::uniform_int_distribution<std::int64_t> delay(0, full.count() + 1);
  int killed_mid_write = 0, finished = 0;
  for (int round = 0; round < 120; ++round) {
    const std::size_t next = (current + 1 + round % (versions - 1)) % versions;
    const pid_t pid = spawn_writer(target, texts[next]);
    std::this_thread::sleep_for(std::chrono::microseconds(delay(random)));
    ::kill(pid, SIGKILL);
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    const bool was_killed = WIFSIGNALED(status);
    killed_mid_write += was_killed;
    finished += !was_killed;
    const std::string now = read_all(target);
    INFO("round ", round, ", file size ", now.size());
    const bool old_file = now == texts[current], new_file = now == texts[next];
    REQUIRE((old_file || new_file));
    if (!was_killed) CHECK(new_file);
    current = new_file ? next : current;
    // Each writer removes what earlier killed writers left: at most the last one's temporary stays.
    CHECK(temporaries_in(dir) <= 1);
  }
  MESSAGE(killed_mid_write, " writers killed, ", finished, " finished before the kill");
  CHECK(killed_mid_write >= 20);
  causalqwen::write_file_atomically(target, texts[0]);
  CHECK(read_all(target) == texts[0]);
  CHECK(temporaries_in(dir) == 0);
}

}  // namespace causalqwen_tests_core_atomic_file_kill
