#pragma once
// Reading a whole (small) file: configs, index files, tokenizer.json, .npy features. The one place
// that turns the ways opening a path can go wrong (missing, a directory, unreadable, too large) into
// a causalqwen::error naming the path and what it was meant to be; a bare std::ifstream on a
// directory opens "successfully" and then fails with std::ios_base::failure or an empty text that
// is later reported as malformed JSON without the path.

#include <causalqwen/core/error.hpp>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>

namespace causalqwen::io {

/// The bytes of `file`. `what` says what the file should hold ("tokenizer file", "features file");
/// a file larger than `max_bytes` is refused before it is read.
inline std::string read_file(const std::filesystem::path& file, std::string_view what,
                             std::size_t max_bytes = std::numeric_limits<std::size_t>::max()) {
  const std::string where = file.string();
  std::error_code code;
  const auto status = std::filesystem::status(file, code);
  if (code || !std::filesystem::exists(status)) fail(where, ": cannot open the ", what, ": no such file");
  require(!std::filesystem::is_directory(status), where, ": is a directory, expected the ", what);
  require(std::filesystem::is_regular_file(status), where, ": cannot open the ", what, ": not a regular file");
  const auto size = std::filesystem::file_size(file, code);
  if (code) fail(where, ": cannot open the ", what, ": ", code.message());
  require(size <= max_bytes, where, ": the ", what, " has ", size, " bytes, more than the ", max_bytes, " allowed");
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(where, ": cannot open the ", what, ": ", std::strerror(errno));
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  require(in.gcount() == static_cast<std::streamsize>(bytes.size()), where, ": cannot read the ", what,
          " (read ", in.gcount(), " of ", size, " bytes)");
  return bytes;
}

}  // namespace causalqwen::io
