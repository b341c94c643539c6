// Builds broken model folders at test time for the bad-input tests: a copy of
// a good tiny model from tests/data/models/<name> in a private temp dir, then
// one precise corruption (a byte-level edit of the safetensors header, a JSON
// field changed, a file removed). Nothing broken is committed, so each test
// shows exactly what it breaks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace vkinfer::testing {

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// tests/data/models/<name> (from $VKINFER_TEST_DATA).
std::filesystem::path good_model(const std::string& name);

// Copies tests/data/models/<name> to `parent`/<name> and returns the copy.
std::filesystem::path copy_model(const std::string& name, const std::filesystem::path& parent);

std::string read_bytes(const std::filesystem::path& path);
void write_bytes(const std::filesystem::path& path, const std::string& bytes);

// A .safetensors file split into its parts: [u64 length][header][data].
struct SafetensorsParts {
  std::string header;  // the JSON text, unparsed, so tests can break it
  std::string data;
  static SafetensorsParts read(const std::filesystem::path& path);
  // Writes [header.size()][header][data].
  void write(const std::filesystem::path& path) const;
};

// Reads `path` as JSON, lets `edit` change it, writes it back.
void edit_json(const std::filesystem::path& path, const std::function<void(nlohmann::json&)>& edit);

// Little-endian u64, as the safetensors length prefix is stored.
std::string u64_le(uint64_t value);

}  // namespace vkinfer::testing
