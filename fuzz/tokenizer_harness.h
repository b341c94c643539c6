// The shared body of the tokenizer fuzz targets. One fuzz input describes a
// whole tokenizer folder plus a text: the bytes are split at NUL into the
// target's files in order (tokenizer.json, tokenizer_config.json, ...) and
// whatever follows the last file is the text to encode. A file whose part is
// missing is not written, so missing files are fuzzed too. The folder is
// loaded with Tokenizer::load and the text goes through encode, encode_pair
// (with truncation), decode and the streaming decoder; ids taken from the
// input bytes are decoded as well. Only vkinfer::Error may escape the engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vkinfer::fuzz {

struct TokenizerTarget {
  std::vector<std::string> files;  // file names, in the order of the input's parts
  // Inputs without this string are skipped, which keeps each target's
  // mutations on its own tokenizer family ("" = no filter).
  std::string required_substring;
};

int run_tokenizer_input(const TokenizerTarget& target, const uint8_t* data, size_t size);

// Writes `files` (name, content) into the scratch folder, loads it and runs
// `text` (or the default texts when `text` is null) through the same checks.
void run_tokenizer_folder(const std::vector<std::pair<std::string, std::string>>& files, const std::string* text);

}  // namespace vkinfer::fuzz
