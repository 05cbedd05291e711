#include <causalqwen/core/atomic_file.hpp>

#include "../support/scratch.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace causalqwen_tests_core_atomic_file {

namespace fs = std::filesystem;
using causalqwen::AtomicFile;

namespace {
std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}
std::size_t files_in(const fs::path& dir) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}
}  // namespace

TEST_CASE("atomic write replaces the file and leaves no temporary behind") {
  const fs::path dir = causalqwen::testing::scratch_directory(__FILE__) / "atomic";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path target = dir / "out.txt";
  causalqwen::write_file_atomically(target, "first");
  causalqwen::write_file_atomically(target, "second");
  CHECK(read_all(target) == "second");
  CHECK(files_in(dir) == 1);
}

TEST_CASE("an uncommitted atomic file leaves the old contents untouched") {
  const fs::path dir = causalqwen::testing::scratch_directory(__FILE__) / "atomic_abort";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path target = dir / "out.txt";
  causalqwen::write_file_atomically(target, "kept");
  {
    AtomicFile file(target);
    file.write("half-written");
  }
  CHECK(read_all(target) == "kept");
  CHECK(files_in(dir) == 1);
}

TEST_CASE("writing into a missing folder is a causalqwen::error naming the file") {
  const fs::path target = causalqwen::testing::scratch_directory(__FILE__) / "no" / "such" / "dir" / "x.bin";
  try {
    causalqwen::write_file_atomically(target, "x");
    FAIL("expected an error");
  } catch (const causalqwen::error& e) {
    CHECK(std::string(e.what()).find("x.bin") != std::string::npos);
  }
}

}  // namespace causalqwen_tests_core_atomic_file
