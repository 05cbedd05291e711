#pragma once
// What the fuzz targets share: the rule that causalqwen::error is the one expected way to refuse
// an input (anything else escapes to libFuzzer and is a finding), and the input written to a
// file for the loaders that only take a path.

#include <causalqwen/core/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include <unistd.h>

namespace causalqwen::fuzz {

/// Runs `load`; a causalqwen::error is the loader refusing the input, which is fine.
template <class Load>
void refused_or_loaded(Load&& load) {
  try {
    load();
  } catch (const causalqwen::error&) {
  }
}

/// A folder of this process's own (parallel fuzzing jobs must not share files), under
/// $CAUSALQWEN_FUZZ_SCRATCH (scripts/fuzz.sh removes it after the run: libFuzzer's time limit
/// ends the process without the exit handler below), else in memory when /dev/shm exists.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::error_code ignored;
    const char* chosen = std::getenv("CAUSALQWEN_FUZZ_SCRATCH");
    const std::filesystem::path base = chosen != nullptr ? std::filesystem::path(chosen)
                                       : std::filesystem::is_directory("/dev/shm", ignored)
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    std::filesystem::path d = base / ("causalqwen-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] { std::error_code e; std::filesystem::remove_all(scratch_dir(), e); });
    return d;
  }();
  return dir;
}

/// Writes the fuzzer's bytes to `name` in the scratch folder and returns its path.
inline std::filesystem::path write_input(const std::uint8_t* data, std::size_t size, std::string_view name) {
  std::filesystem::path file = scratch_dir() / name;
  std::FILE* out = std::fopen(file.c_str(), "wb");
  if (out == nullptr) std::abort();  // the harness itself is broken, not the library
  if (size > 0 && std::fwrite(data, 1, size, out) != size) std::abort();
  std::fclose(out);
  return file;
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace causalqwen::fuzz
