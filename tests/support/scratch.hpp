#pragma once
// Where a test file writes: a folder of its own under the build tree, named after the file
// (tests/<area>/test_<name>.cpp writes in <build>/tests/scratch/<area>_test_<name>), so the test
// files ctest runs side by side never write to the same place. The name comes from the caller's
// __FILE__ rather than a per-file definition, so an area still compiles as one unit.

#include <filesystem>

namespace causalqwen::testing {

inline std::filesystem::path scratch_directory(const std::filesystem::path& source_file) {
  auto folder = std::filesystem::path(CAUSALQWEN_TEST_SCRATCH_ROOT) /
                (source_file.parent_path().filename().string() + "_" + source_file.stem().string());
  std::filesystem::create_directories(folder);
  return folder;
}

}  // namespace causalqwen::testing
