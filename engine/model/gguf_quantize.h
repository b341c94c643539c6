// `vkinfer quantize`: a Hugging Face decoder folder written as one GGUF
// file whose matrices are quantized by a --quant recipe, the way llama.cpp's
// convert_hf_to_gguf.py + llama-quantize would lay it out (tensor names,
// row orders, metadata), so that llama.cpp reads it and vkinfer loads it to
// the same device weights as `--quant RECIPE` on the folder: each matrix
// gets the type quant_type_for() gives the same tensor at load time, and its
// rows are quantized by the same quantize_rows(), so the blocks are equal.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/io/ggml_types.h"

namespace vkinfer {

struct GgufQuantizeOptions {
  std::filesystem::path model_dir;  // a HF folder (config.json + safetensors)
  std::string recipe;               // a --quant name: q8_0, q4_k_m, ...
  std::filesystem::path out;        // the .gguf to write (through a temp file)
  bool tokenizer = true;            // false: write no tokenizer.ggml.* (ids-only file)
};

struct GgufQuantizeSummary {
  std::string architecture;                  // general.architecture
  int64_t tensors = 0;
  std::map<std::string, int64_t> type_counts;  // "Q8_0" -> tensors of that type
  std::vector<std::string> skipped;          // checkpoint tensors with no GGUF name (rotary buffers...)
  bool wrote_tokenizer = false;
  uint64_t file_bytes = 0;
};

// llama.cpp's LLAMA_FTYPE number of a recipe (general.file_type).
uint32_t gguf_file_type(const std::string& recipe_name);

// Checks everything (recipe, --out, the model) before reading a weight, then
// writes `out`. kInvalidArgument for a bad recipe or --out (missing
// directory, an existing directory, not *.gguf); kUnsupported for an
// encoder, an architecture or tokenizer GGUF cannot carry; errors of the
// checkpoint readers. Nothing is left at `out` on failure.
GgufQuantizeSummary quantize_to_gguf(const GgufQuantizeOptions& options);

}  // namespace vkinfer
