#include "fuzz/tokenizer_harness.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "engine/core/error.h"
#include "engine/text/tokenizer.h"

namespace vkinfer::fuzz {
namespace {

namespace fs = std::filesystem;

// One folder per fuzzing process, reused for every input and removed at exit.
const fs::path& scratch_dir() {
  static const fs::path dir = [] {
    std::string pattern = (fs::temp_directory_path() / "vkinfer_fuzz_XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      __builtin_trap();
    }
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(scratch_dir(), ignored);
    });
    return fs::path(pattern);
  }();
  return dir;
}

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) __builtin_trap();
}

// Texts used when the input carries none: the cases the tokenizer goldens
// found hardest (added tokens in text, whitespace runs, CJK, combining
// accents, invalid UTF-8).
constexpr std::string_view kDefaultTexts[] = {
    "Hello world", "  two  spaces\tand\ttabs\n", "<|endoftext|>[CLS]<s></s>", "caf\xC3\xA9 cafe\xCC\x81",
    "\xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB", "\xFF\xFE invalid \xC3",
    "don't 123 4567", "",
};

void exercise(const Tokenizer& tokenizer, std::string_view text, std::string_view id_bytes) {
  const Encoding with_specials = tokenizer.encode(text, true);
  const Encoding plain = tokenizer.encode(text, false);
  if (with_specials.ids.size() != with_specials.tokens.size()) __builtin_trap();
  const int32_t vocab = tokenizer.vocab_size();
  for (int32_t id : with_specials.ids)
    if (id < 0 || id >= vocab) __builtin_trap();  // an encoder must only produce ids it can decode
  const std::string decoded = tokenizer.decode(with_specials.ids, false);
  tokenizer.decode(plain.ids, true);
  const int max_length = text.empty() ? 0 : static_cast<unsigned char>(text[0]) % 16;
  tokenizer.encode_pair(text, decoded, true, max_length);
  tokenizer.encode_pair(decoded, text, false, 0);

  StreamDecoder stream(tokenizer, false);
  std::string streamed;
  for (int32_t id : with_specials.ids) streamed += stream.push(id);
  streamed += stream.flush();
  if (streamed != decoded) __builtin_trap();  // the documented StreamDecoder contract

  // Arbitrary ids from the input: out-of-range ones must be a typed error.
  std::vector<int32_t> ids;
  for (size_t i = 0; i + 4 <= id_bytes.size() && ids.size() < 64; i += 4) {
    int32_t id;
    std::memcpy(&id, id_bytes.data() + i, 4);
    ids.push_back(id);
  }
  for (int32_t id : ids) {
    try {
      tokenizer.id_to_token(id);
    } catch (const Error&) {
    }
  }
  try {
    tokenizer.decode(ids, false);
  } catch (const Error&) {
  }
  for (int32_t id : with_specials.ids) tokenizer.token_to_id(tokenizer.id_to_token(id));
}

void load_and_exercise(bool has_text, std::string_view text) {
  try {
    const auto tokenizer = Tokenizer::load(scratch_dir());
    if (has_text) {
      exercise(*tokenizer, text, text);
    } else {
      for (std::string_view t : kDefaultTexts) exercise(*tokenizer, t, {});
    }
  } catch (const Error&) {
    // Typed errors (bad file, unsupported feature, id out of range) are fine.
  }
}

}  // namespace

void run_tokenizer_folder(const std::vector<std::pair<std::string, std::string>>& files, const std::string* text) {
  const fs::path& dir = scratch_dir();
  for (const auto& entry : fs::directory_iterator(dir)) fs::remove(entry.path());
  for (const auto& [name, content] : files) write_file(dir / name, content);
  load_and_exercise(text != nullptr, text != nullptr ? std::string_view(*text) : std::string_view());
}

int run_tokenizer_input(const TokenizerTarget& target, const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (!target.required_substring.empty() && input.find(target.required_substring) == std::string_view::npos)
    return 0;
  const fs::path& dir = scratch_dir();
  for (const auto& entry : fs::directory_iterator(dir)) fs::remove(entry.path());

  size_t pos = 0;
  bool has_text = false;
  std::string_view text;
  for (size_t i = 0; i <= target.files.size(); ++i) {
    const size_t nul = input.find('\0', pos);
    const std::string_view part = input.substr(pos, nul == std::string_view::npos ? std::string_view::npos : nul - pos);
    if (i == target.files.size()) {
      has_text = true;
      text = input.substr(pos);  // the text may itself hold NULs
      break;
    }
    write_file(dir / target.files[i], part);
    if (nul == std::string_view::npos) break;
    pos = nul + 1;
  }

  load_and_exercise(has_text, text);
  return 0;
}

}  // namespace vkinfer::fuzz
