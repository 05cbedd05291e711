#pragma once
// A Hugging Face checkpoint directory: either one `model.safetensors` or shards listed by
// `model.safetensors.index.json` ({"weight_map": {tensor: shard file}}). Callers look tensors up
// by name and never care which file holds them.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/io/file.hpp>
#include <causalqwen/io/safetensors.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace causalqwen::io {

class Checkpoint {
 public:
  static constexpr std::string_view single_file = "model.safetensors";
  static constexpr std::string_view index_file = "model.safetensors.index.json";

  explicit Checkpoint(std::filesystem::path directory) : directory_(std::move(directory)) {
    require(std::filesystem::is_directory(directory_), directory_.string(), ": not a checkpoint directory");
    if (std::filesystem::exists(directory_ / index_file)) {
      open_shards();
    } else {
      require(std::filesystem::exists(directory_ / single_file), directory_.string(), ": neither ", single_file,
              " nor ", index_file, " found");
      files_.push_back(std::make_unique<SafetensorsReader>(directory_ / single_file));
      for (const std::string& name : files_.front()->names()) where_.emplace(name, 0);
    }
  }

  const std::filesystem::path& directory() const { return directory_; }
  bool contains(std::string_view name) const { return where_.find(name) != where_.end(); }

  /// The file that holds `name`; a missing tensor names the directory and the tensor.
  const SafetensorsReader& file_of(std::string_view name) const {
    const auto found = where_.find(name);
    if (found == where_.end()) fail(directory_.string(), ": checkpoint has no tensor named '", name, "'");
    return *files_[found->second];
  }
  const TensorView& tensor(std::string_view name) const { return file_of(name).tensor(name); }
  /// See SafetensorsReader::release.
  void release(std::string_view name) const { file_of(name).release(name); }

  template <Real T>
  RowMatrix<T> matrix(std::string_view name) const {
    return file_of(name).template matrix<T>(name);
  }
  template <Real T>
  Vector<T> vector(std::string_view name) const {
    return file_of(name).template vector<T>(name);
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, file] : where_) out.push_back(name);
    return out;
  }
  std::size_t file_count() const { return files_.size(); }

 private:
  void open_shards() {
    const std::filesystem::path index_path = directory_ / index_file;
    nlohmann::json index;
    try {
      index = nlohmann::json::parse(read_file(index_path, "checkpoint index"));
    } catch (const nlohmann::json::exception& e) {
      fail(index_path.string(), ": not valid JSON: ", e.what());
    }
    require(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(), index_path.string(),
            ": needs an object 'weight_map'");
    std::map<std::string, std::size_t> shard_of_file;
    for (const auto& [name, file] : index["weight_map"].items()) {
      require(file.is_string(), index_path.string(), ": weight_map entry '", name, "' is not a file name");
      const std::string& shard = file.get_ref<const std::string&>();
      // Shards live beside the index; a path that leaves the directory is refused.
      require(!shard.empty() && shard.find('/') == std::string::npos && shard != "." && shard != "..",
              index_path.string(), ": weight_map entry '", name, "' names an invalid shard '", shard, "'");
      auto [it, inserted] = shard_of_file.emplace(shard, files_.size());
      if (inserted) files_.push_back(std::make_unique<SafetensorsReader>(directory_ / shard));
      require(files_[it->second]->contains(name), index_path.string(), ": tensor '", name, "' is mapped to ", shard,
              " which does not hold it");
      where_.emplace(name, it->second);
    }
  }

  std::filesystem::path directory_;
  std::vector<std::unique_ptr<SafetensorsReader>> files_;
  std::map<std::string, std::size_t, std::less<>> where_;
};

}  // namespace causalqwen::io
