#pragma once
// A read-only memory mapping of a whole file. Checkpoints are gigabytes; mapping them lets the
// reader hand out views without copying and lets the kernel page weights in on demand.

#include <causalqwen/core/error.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <utility>

namespace causalqwen::io {

class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(file.string(), ": cannot open: ", std::strerror(errno));
    struct ::stat info {};
    if (::fstat(fd, &info) != 0) {
      const int code = errno;
      ::close(fd);
      fail(file.string(), ": cannot stat: ", std::strerror(code));
    }
    if (!S_ISREG(info.st_mode)) {
      ::close(fd);
      fail(file.string(), ": not a regular file");
    }
    size_ = static_cast<std::size_t>(info.st_size);
    if (size_ > 0) {
      void* address = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (address == MAP_FAILED) {
        const int code = errno;
        ::close(fd);
        fail(file.string(), ": cannot map: ", std::strerror(code));
      }
      data_ = static_cast<const std::byte*>(address);
    }
    ::close(fd);  // the mapping keeps the file alive
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  MappedFile& operator=(MappedFile&& other) noexcept {
    if (this != &other) {
      unmap();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~MappedFile() { unmap(); }

  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  std::size_t size() const noexcept { return size_; }

  /// Drops the pages holding `range` (part of this mapping; anything else is ignored) from the
  /// process's resident memory. The mapping is private and read-only, so a later read pages them
  /// in again from the file: only memory use changes. A loader that copies gigabytes of weights
  /// out of the mapping calls this after each tensor, or it holds the file and its copy at once.
  void release(std::span<const std::byte> range) const noexcept {
    if (range.empty() || data_ == nullptr || range.data() < data_ || range.data() + range.size() > data_ + size_) return;
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto begin = reinterpret_cast<std::uintptr_t>(range.data()) / page * page;  // data_ is page-aligned
    const auto end = reinterpret_cast<std::uintptr_t>(range.data() + range.size());
    ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  }

 private:
  void unmap() noexcept {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
    data_ = nullptr;
  }
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace causalqwen::io
