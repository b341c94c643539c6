#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "cli/commands.h"
#include "engine/core/error.h"

namespace vkinfer::cli {
namespace {

std::string find_asset(const std::string& name) {
  std::vector<std::filesystem::path> roots;
  if (const char* env = std::getenv("VKINFER_ASSETS")) roots.emplace_back(env);
  roots.emplace_back(std::filesystem::path(VKINFER_SOURCE_DIR) / "assets");
  roots.emplace_back("/usr/share/vkinfer/assets");
  for (const auto& root : roots)
    if (std::filesystem::exists(root / name / "config.json")) return (root / name).string();
  fail(ErrorCode::kInvalidArgument,
       "no --model given and the bundled model assets/{} was not found. HINT: pass "
       "--model DIR (a Hugging Face folder)", name);
}

}  // namespace

std::string default_generate_model() { return find_asset("gpt2-kjv"); }

std::string cache_root() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  std::filesystem::path root = xdg ? xdg : (home ? std::filesystem::path(home) / ".cache" : "/tmp");
  return (root / "vkinfer").string();
}
std::string default_classify_model() { return find_asset("bert-kjv-nsp"); }

std::vector<int> parse_int_list(const std::string& text, const char* flag) {
  std::vector<int> out;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    try {
      size_t used = 0;
      long value = std::stol(item, &used);
      if (used != item.size() || value < INT32_MIN || value > INT32_MAX) throw std::invalid_argument(item);
      out.push_back(static_cast<int>(value));
    } catch (const std::exception&) {
      fail(ErrorCode::kInvalidArgument, "{}: '{}' is not an integer list like 1,2,3", flag, text);
    }
  }
  return out;
}

}  // namespace vkinfer::cli
