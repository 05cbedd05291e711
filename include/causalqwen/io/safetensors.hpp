#pragma once
// Reading and writing the safetensors format (Hugging Face checkpoints, our heads and deltas).
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON ({name: {dtype, shape,
// data_offsets: [begin, end]}, optional "__metadata__": {string: string}}, possibly padded with
// spaces), then the data section that the offsets index. The reader maps the file and trusts
// nothing: every header entry is checked against the file before a view of it is handed out,
// so a corrupt or hostile file ends in causalqwen::error naming the file and the tensor, never
// in a read outside the mapping.

#include <causalqwen/core/atomic_file.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/io/dtype.hpp>
#include <causalqwen/io/mapped_file.hpp>
#include <causalqwen/io/tensor.hpp>
#include <causalqwen/io/tensor_store.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <span>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace causalqwen::io {

class SafetensorsReader {
 public:
  explicit SafetensorsReader(const std::filesystem::path& file) : path_(file), map_(file) { parse_header(); }

  const std::filesystem::path& path() const { return path_; }
  bool contains(std::string_view name) const { return index_.find(name) != index_.end(); }

  const TensorView& tensor(std::string_view name) const {
    const auto found = index_.find(name);
    if (found == index_.end()) fail(path_.string(), ": no tensor named '", name, "'");
    return tensors_[found->second];
  }
  /// Drops tensor `name`'s pages from resident memory once its bytes have been copied (see
  /// MappedFile::release); its view stays valid.
  void release(std::string_view name) const { map_.release(tensor(name).bytes); }

  /// Tensor names in lexicographic order.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(index_.size());
    for (const auto& [name, position] : index_) out.push_back(name);
    return out;
  }

  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  /// Rank 2 as stored, rank 1 as a single row; floating dtypes are converted to T.
  template <Real T>
  RowMatrix<T> matrix(std::string_view name) const {
    const TensorView& view = tensor(name);
    require(view.shape.size() == 1 || view.shape.size() == 2, path_.string(), ": tensor '", name,
            "' has rank ", view.shape.size(), ", expected a matrix (rank 1 or 2)");
    const std::int64_t rows = view.shape.size() == 2 ? view.shape[0] : 1;
    const std::int64_t cols = view.shape.back();
    RowMatrix<T> out(rows, cols);
    convert(view, out.data());
    return out;
  }

  template <Real T>
  Vector<T> vector(std::string_view name) const {
    const TensorView& view = tensor(name);
    require(view.shape.size() == 1, path_.string(), ": tensor '", name, "' has rank ", view.shape.size(),
            ", expected a vector (rank 1)");
    Vector<T> out(view.shape[0]);
    convert(view, out.data());
    return out;
  }

  /// Converts any floating tensor into `out` (element_count values, row-major).
  template <Real T>
  void convert(const TensorView& view, T* out) const {
    require(is_floating(view.dtype), path_.string(), ": tensor '", view.name, "' has dtype ",
            dtype_name(view.dtype), ", expected F64, F32, F16 or BF16");
    convert_elements(view.dtype, view.bytes.data(), static_cast<std::size_t>(view.element_count()), out);
  }

 private:
  template <class... Parts>
  [[noreturn]] void bad(const Parts&... parts) const {
    fail(path_.string(), ": invalid safetensors file: ", parts...);
  }

  void parse_header() {
    const std::span<const std::byte> file = map_.bytes();
    if (file.size() < 8) bad("file has ", file.size(), " bytes, shorter than the 8-byte header length");
    std::uint64_t header_length = 0;
    std::memcpy(&header_length, file.data(), 8);
    if (header_length > detail::max_header_bytes) bad("header length ", header_length, " exceeds the limit of ", detail::max_header_bytes);
    if (header_length > file.size() - 8)
      bad("header length ", header_length, " runs past the end of the file (", file.size(), " bytes)");
    const std::string_view text(reinterpret_cast<const char*>(file.data() + 8), header_length);
    if (text.empty() || text.front() != '{') bad("header does not start with '{'");

    nlohmann::json header;
    // JSON keeps the last of two equal keys; a tensor named twice is refused instead of one
    // of its two definitions being dropped without a word.
    std::set<std::string, std::less<>> names;
    const auto refuse_duplicates = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      if (depth == 1 && event == nlohmann::json::parse_event_t::key && !names.insert(parsed.get<std::string>()).second)
        bad("tensor '", parsed.get<std::string>(), "' is defined twice in the header");
      return true;
    };
    try {
      header = nlohmann::json::parse(text, refuse_duplicates);
    } catch (const nlohmann::json::exception& e) {
      bad("header is not valid JSON: ", e.what());
    }
    if (!header.is_object()) bad("header is not a JSON object");

    const std::span<const std::byte> data = file.subspan(8 + header_length);
    struct Range {
      std::uint64_t begin, end;
      std::size_t tensor;
    };
    std::vector<Range> ranges;
    for (const auto& [name, entry] : header.items()) {
      if (name == "__metadata__") {
        parse_metadata(entry);
        continue;
      }
      TensorView view = parse_entry(name, entry, data, ranges.emplace_back());
      ranges.back().tensor = tensors_.size();
      index_.emplace(view.name, tensors_.size());
      tensors_.push_back(std::move(view));
    }

    // The format requires the tensors to tile the data section exactly: no overlap, no hole.
    std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    std::uint64_t covered = 0;
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      const Range& range = ranges[i];
      if (range.begin < covered)
        bad("tensor '", tensors_[range.tensor].name, "' [", range.begin, ", ", range.end, ") overlaps tensor '",
            tensors_[ranges[i - 1].tensor].name, "' which ends at ", covered);
      if (range.begin > covered)
        bad("bytes [", covered, ", ", range.begin, ") of the data section belong to no tensor (before tensor '",
            tensors_[range.tensor].name, "')");
      covered = range.end;
    }
    if (covered != data.size())
      bad("the data section has ", data.size(), " bytes but the tensors cover ", covered,
          " (trailing bytes or a truncated file)");
  }

  void parse_metadata(const nlohmann::json& entry) {
    if (!entry.is_object()) bad("__metadata__ is not a JSON object");
    for (const auto& [key, value] : entry.items()) {
      if (!value.is_string()) bad("__metadata__ entry '", key, "' is not a string");
      metadata_.emplace(key, value.get<std::string>());
    }
  }

  template <class Range>
  TensorView parse_entry(const std::string& name, const nlohmann::json& entry, std::span<const std::byte> data,
                         Range& range) const {
    if (!entry.is_object()) bad("tensor '", name, "': entry is not a JSON object");
    for (const auto& [key, value] : entry.items()) {
      if (key != "dtype" && key != "shape" && key != "data_offsets") bad("tensor '", name, "': unexpected key '", key, "'");
    }
    if (!entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      bad("tensor '", name, "': entry needs dtype, shape and data_offsets");

    TensorView view;
    view.name = name;
    const auto& dtype = entry["dtype"];
    if (!dtype.is_string()) bad("tensor '", name, "': dtype is not a string");
    if (!parse_dtype(dtype.get_ref<const std::string&>(), view.dtype))
      bad("tensor '", name, "': unknown or unsupported dtype '", dtype.get_ref<const std::string&>(), "'");

    const auto& shape = entry["shape"];
    if (!shape.is_array()) bad("tensor '", name, "': shape is not an array");
    std::uint64_t elements = 1;
    for (const auto& extent : shape) {
      if (!extent.is_number_unsigned()) bad("tensor '", name, "': shape entries must be non-negative integers");
      const std::uint64_t value = extent.get<std::uint64_t>();
      if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
          __builtin_mul_overflow(elements, value, &elements))
        bad("tensor '", name, "': shape overflows");
      view.shape.push_back(static_cast<std::int64_t>(value));
    }
    std::uint64_t expected_bytes = 0;
    if (__builtin_mul_overflow(elements, static_cast<std::uint64_t>(dtype_size(view.dtype)), &expected_bytes))
      bad("tensor '", name, "': shape overflows");

    const auto& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      bad("tensor '", name, "': data_offsets must be two non-negative integers");
    range.begin = offsets[0].get<std::uint64_t>();
    range.end = offsets[1].get<std::uint64_t>();
    if (range.begin > range.end) bad("tensor '", name, "': data_offsets [", range.begin, ", ", range.end, "] are reversed");
    if (range.end > data.size())
      bad("tensor '", name, "': data_offsets [", range.begin, ", ", range.end, "] run past the data section (",
          data.size(), " bytes)");
    if (range.end - range.begin != expected_bytes)
      bad("tensor '", name, "': shape and dtype ", dtype_name(view.dtype), " need ", expected_bytes,
          " bytes but data_offsets span ", range.end - range.begin);
    view.bytes = data.subspan(range.begin, range.end - range.begin);
    return view;
  }

  std::filesystem::path path_;
  MappedFile map_;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
};

/// Collects tensors (see TensorStore for add, add_as, add_raw, set_metadata) and writes them.
class SafetensorsWriter : public TensorStore {
 public:
  /// Writes the file atomically (a crash leaves the old file or the new one, never half of one).
  void write(const std::filesystem::path& file) const {
    // Larger elements first keeps every tensor aligned to its element size inside the data section.
    std::vector<const TensorView*> order;
    for (const std::string& name : names()) order.push_back(&tensor(name));
    std::stable_sort(order.begin(), order.end(), [](const TensorView* a, const TensorView* b) {
      return dtype_size(a->dtype) > dtype_size(b->dtype);
    });

    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata().empty()) header["__metadata__"] = metadata();
    std::uint64_t offset = 0;
    for (const TensorView* view : order) {
      header[view->name] = {{"dtype", dtype_name(view->dtype)},
                            {"shape", view->shape},
                            {"data_offsets", {offset, offset + view->bytes.size()}}};
      offset += view->bytes.size();
    }
    std::string text = header.dump();
    // Spaces pad the header so the data section starts 8-byte aligned, as the format allows.
    text.append((8 - text.size() % 8) % 8, ' ');
    const std::uint64_t length = text.size();

    AtomicFile out(file);
    out.write(&length, 8);
    out.write(text);
    for (const TensorView* view : order) out.write(view->bytes.data(), view->bytes.size());
    out.commit();
  }
};

}  // namespace causalqwen::io
