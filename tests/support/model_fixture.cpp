#include "tests/support/model_fixture.h"

#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace vkinfer::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "vkinfer_test_XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;  // a leftover temp dir is not worth failing a test over
  fs::remove_all(path_, ignored);
}

fs::path good_model(const std::string& name) {
  const char* data = std::getenv("VKINFER_TEST_DATA");
  if (data == nullptr) throw std::runtime_error("VKINFER_TEST_DATA is unset; run the tests through ctest");
  return fs::path(data) / "models" / name;
}

fs::path copy_model(const std::string& name, const fs::path& parent) {
  const fs::path to = parent / name;
  fs::copy(good_model(name), to, fs::copy_options::recursive);
  // The data files are committed read-only for some users; the copies get edited.
  for (const auto& entry : fs::directory_iterator(to))
    fs::permissions(entry.path(), fs::perms::owner_read | fs::perms::owner_write);
  return to;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string u64_le(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return out;
}

SafetensorsParts SafetensorsParts::read(const fs::path& path) {
  const std::string bytes = read_bytes(path);
  if (bytes.size() < 8) throw std::runtime_error(path.string() + " is not a safetensors file");
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | static_cast<uint8_t>(bytes[i]);
  if (length > bytes.size() - 8) throw std::runtime_error(path.string() + " is not a safetensors file");
  return {bytes.substr(8, length), bytes.substr(8 + length)};
}

void SafetensorsParts::write(const fs::path& path) const {
  write_bytes(path, u64_le(header.size()) + header + data);
}

void edit_json(const fs::path& path, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json json = nlohmann::json::parse(read_bytes(path));
  edit(json);
  write_bytes(path, json.dump(2));
}

}  // namespace vkinfer::testing
