// Tokenizer lab: encode throughput of tokenizer.json pipelines on ~1 MB of
// English text, one thread, to compare with HF `tokenizers`
// (bench/tokenizer_lab_hf.py times the same files on the same text with
// RAYON_NUM_THREADS=1). Each case first encodes the text once and reports the
// token count, which must equal the Python script's count (a cheap check
// that both sides did the same work), then times encode() without special
// tokens. The BPE caches stay warm across iterations, as HF's do.
//
//   .venv/bin/python bench/tokenizer_lab_hf.py --write build/english.txt
//   VKINFER_TOKENIZER_TEXT=build/english.txt build/bench/tokenizer_lab
//
// Measured 2026-12-05 on a shared 2-core machine (CPU time, the fair number
// there; token counts equal on both sides): Llama 3 105 ms vs HF 595 ms,
// GPT-2 66 ms vs HF 683 ms for 1 MiB of pydoc + licence prose.
//
// Tokenizers: GPT-2 (build/gpt2-tokenizer-hf/, the copy of
// ../shared/models/gpt2-tokenizer that tokenizer_lab_hf.py writes) and the
// real Llama 3 tokenizer.json (VKINFER_LLAMA3_TOKENIZER, see
// tests/CMakeLists.txt).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/text/tokenizer.h"

namespace vkinfer {
namespace {

namespace fs = std::filesystem;

constexpr size_t kTextBytes = 1 << 20;

// The first 1 MiB of the text file, cut at a line end so that the text is
// valid UTF-8.
const std::string& english_text() {
  static const std::string text = [] {
    const char* env = std::getenv("VKINFER_TOKENIZER_TEXT");
    if (env == nullptr) return std::string();
    std::ifstream in(env, std::ios::binary);
    if (!in) return std::string();
    std::stringstream ss;
    ss << in.rdbuf();
    std::string all = ss.str();
    if (all.size() > kTextBytes) all.resize(all.rfind('\n', kTextBytes) + 1);
    return all;
  }();
  return text;
}

fs::path shared_dir() {
  const char* env = std::getenv("VKINFER_SHARED_DIR");
  return env ? fs::path(env) : fs::path(VKINFER_SOURCE_DIR) / ".." / "shared";
}

void encode_bench(benchmark::State& state, const fs::path& folder) {
  const std::string& text = english_text();
  if (text.empty()) return state.SkipWithError("no text: set VKINFER_TOKENIZER_TEXT to an English text file");
  if (!fs::exists(folder / "tokenizer.json")) return state.SkipWithError(("no tokenizer.json in " + folder.string()).c_str());
  const auto tok = Tokenizer::load(folder);
  const size_t tokens = tok->encode(text, false).ids.size();
  for (auto _ : state) benchmark::DoNotOptimize(tok->encode(text, false).ids.data());
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["text_bytes"] = static_cast<double>(text.size());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

// A folder holding only a symlink to a tokenizer.json file.
fs::path folder_for(const char* tokenizer_json) {
  const fs::path dir = fs::temp_directory_path() / "vkinfer_tokenizer_lab_llama3";
  fs::create_directories(dir);
  std::error_code ignored;
  fs::remove(dir / "tokenizer.json", ignored);
  fs::create_symlink(fs::absolute(tokenizer_json), dir / "tokenizer.json");
  return dir;
}

// The copy of GPT-2's tokenizer.json that tokenizers 0.19 can read, written
// by tokenizer_lab_hf.py; the shared folder otherwise.
void BM_encode_gpt2(benchmark::State& state) {
  const fs::path copy = fs::path(VKINFER_SOURCE_DIR) / "build/gpt2-tokenizer-hf";
  encode_bench(state, fs::exists(copy / "tokenizer.json") ? copy : shared_dir() / "models/gpt2-tokenizer");
}
void BM_encode_llama3(benchmark::State& state) {
  const char* path = std::getenv("VKINFER_LLAMA3_TOKENIZER");
  if (path == nullptr) return state.SkipWithError("VKINFER_LLAMA3_TOKENIZER is unset");
  encode_bench(state, folder_for(path));
}

BENCHMARK(BM_encode_gpt2)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_encode_llama3)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace
}  // namespace vkinfer

BENCHMARK_MAIN();
