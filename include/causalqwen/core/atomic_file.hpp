#pragma once
// Files the library writes (checkpoints, deltas, logs) must never be seen half-written: a
// crash or a full disk leaves either the old file or the new one. AtomicFile writes into a
// temporary file beside the target, flushes it to disk, and renames it over the target on
// commit(); an uncommitted AtomicFile removes its temporary file when destroyed. A writer killed
// outright (SIGKILL, power loss) cannot clean up: its "<target>.tmp.<pid>.<n>" stays until the
// next AtomicFile for the same target removes the temporaries of processes that no longer run,
// so at most one stale temporary per target and killed writer exists, and none accumulate.

#include <causalqwen/core/error.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace causalqwen {

namespace detail {
/// Removes the temporaries of `target` whose writer process no longer exists on this machine; a
/// running writer's temporary (and anything that does not parse as one) is left alone.
inline void remove_stale_temporaries(const std::filesystem::path& target) {
  const std::string prefix = target.filename().string() + ".tmp.";
  const std::filesystem::path folder = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  for (std::filesystem::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    char* rest = nullptr;
    const long pid = std::strtol(name.c_str() + prefix.size(), &rest, 10);
    if (pid <= 0 || *rest != '.' || pid == ::getpid()) continue;
    if (::kill(static_cast<::pid_t>(pid), 0) != 0 && errno == ESRCH) {
      std::error_code ignored;  // another writer may have removed it first
      std::filesystem::remove(it->path(), ignored);
    }
  }
}
}  // namespace detail

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
    detail::remove_stale_temporaries(target_);
    static std::atomic<unsigned long> counter{0};
    temporary_ = target_;
    temporary_ += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) fail(target_.string(), ": cannot create temporary file ", temporary_.string(), ": ", std::strerror(errno));
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temporary_.c_str());
  }

  void write(const void* data, std::size_t size) {
    require(fd_ >= 0, target_.string(), ": write after commit");
    const auto* bytes = static_cast<const char*>(data);
    while (size > 0) {
      const ::ssize_t written = ::write(fd_, bytes, size);
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) fail(target_.string(), ": write failed: ", std::strerror(errno));
      bytes += written;
      size -= static_cast<std::size_t>(written);
    }
  }
  void write(std::string_view text) { write(text.data(), text.size()); }

  /// Makes the written bytes durable and visible under the target name in one step.
  void commit() {
    require(fd_ >= 0, target_.string(), ": commit called twice");
    if (::fsync(fd_) != 0) fail(target_.string(), ": fsync failed: ", std::strerror(errno));
    const int closed = ::close(fd_);
    fd_ = -1;
    if (closed != 0) fail(target_.string(), ": close failed: ", std::strerror(errno));
    if (std::rename(temporary_.c_str(), target_.c_str()) != 0)
      fail(target_.string(), ": rename from ", temporary_.string(), " failed: ", std::strerror(errno));
    committed_ = true;
  }

  const std::filesystem::path& target() const noexcept { return target_; }

 private:
  std::filesystem::path target_;
  std::filesystem::path temporary_;
  int fd_ = -1;
  bool committed_ = false;
};

/// Replaces the file at `path` with `contents` atomically.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view contents) {
  AtomicFile file(path);
  file.write(contents);
  file.commit();
}

}  // namespace causalqwen
