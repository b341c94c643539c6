// HF folder -> quantized GGUF. The tensor types come from the same
// quant_type_for() calls the loader makes for `--quant` (the tensor kind read
// off the GGUF name the way decoder_weights.cpp's set_quant_kinds reads it
// off the role), the rows are laid out as the converter writes them
// (gguf_names.h layouts, hf_row_of), and the values are quantized row by row
// by quantize_rows(): a permutation moves whole rows, so every row's blocks
// are the ones `--quant` makes on the device.
#include "engine/model/gguf_quantize.h"

#include <algorithm>
#include <optional>
#include <system_error>

#include "engine/core/error.h"
#include "engine/io/checkpoint.h"
#include "engine/io/gguf_export.h"
#include "engine/io/gguf_names.h"
#include "engine/io/gguf_writer.h"
#include "engine/model/config.h"
#include "engine/weights/quant_recipe.h"
#include "engine/weights/quantize.h"

namespace vkinfer {
namespace {

// The --quant tensor kind of a GGUF matrix name; nullopt for a matrix that
// `--quant` leaves unquantized (GPT-2's learned position table).
std::optional<QuantTensorKind> kind_of(std::string_view gguf_name) {
  if (gguf_name == "token_embd.weight") return QuantTensorKind::kEmbedding;
  if (gguf_name == "output.weight") return QuantTensorKind::kOutput;
  if (gguf_name == "position_embd.weight") return std::nullopt;
  const std::pair<const char*, QuantTensorKind> suffixes[] = {
      {".attn_q.weight", QuantTensorKind::kAttnQ},        {".attn_k.weight", QuantTensorKind::kAttnK},
      {".attn_v.weight", QuantTensorKind::kAttnV},        {".attn_qkv.weight", QuantTensorKind::kAttnQkv},
      {".attn_output.weight", QuantTensorKind::kAttnOut}, {".ffn_gate.weight", QuantTensorKind::kFfnGate},
      {".ffn_up.weight", QuantTensorKind::kFfnUp},        {".ffn_down.weight", QuantTensorKind::kFfnDown},
  };
  for (const auto& [suffix, kind] : suffixes) {
    const std::string_view s(suffix);
    if (gguf_name.size() > s.size() && gguf_name.substr(gguf_name.size() - s.size()) == s) return kind;
  }
  return QuantTensorKind::kOther;
}

void check_out(const std::filesystem::path& out) {
  std::error_code ec;
  if (out.empty()) fail(ErrorCode::kInvalidArgument, "--out is required (the .gguf file to write)");
  if (std::filesystem::is_directory(out, ec))
    fail(ErrorCode::kInvalidArgument, "--out {} is a directory; give a file path such as {}", out.string(),
         (out / "model.gguf").string());
  if (out.extension() != ".gguf")
    fail(ErrorCode::kInvalidArgument, "--out {} does not end in .gguf (vkinfer and llama.cpp load GGUF files by "
         "that name)", out.string());
  const std::filesystem::path parent = out.has_parent_path() ? out.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::is_directory(parent, ec))
    fail(ErrorCode::kInvalidArgument, "--out {}: the directory {} does not exist", out.string(), parent.string());
}

struct Source {
  std::string hf;      // checkpoint name
  GgufNameMatch gguf;  // GGUF name and layout
};

}  // namespace

uint32_t gguf_file_type(const std::string& recipe_name) {
  // llama.cpp's enum llama_ftype.
  const std::pair<const char*, uint32_t> types[] = {{"q4_0", 2}, {"q4_1", 3}, {"q8_0", 7},  {"q5_0", 8},
                                                    {"q5_1", 9}, {"q4_k", 14}, {"q4_k_m", 15}, {"q6_k", 18}};
  for (const auto& [name, number] : types)
    if (recipe_name == name) return number;
  fail(ErrorCode::kInternal, "no llama.cpp file type for recipe {}", recipe_name);
}

GgufQuantizeSummary quantize_to_gguf(const GgufQuantizeOptions& options) {
  const QuantRecipe recipe = parse_quant_recipe(options.recipe);
  check_out(options.out);
  const std::filesystem::path& dir = options.model_dir;
  if (dir.extension() == ".gguf")
    fail(ErrorCode::kUnsupported, "--model {} is already a GGUF file; vkinfer quantize reads a Hugging Face folder "
         "(config.json + safetensors)", dir.string());
  const ModelConfig model = ModelConfig::load(dir);
  if (!model.is_decoder())
    fail(ErrorCode::kUnsupported, "{}: model_type \"{}\" is an encoder; vkinfer quantize writes decoder (causal LM) "
         "models only", (dir / "config.json").string(), model.model_type);
  const DecoderConfig& c = model.decoder();
  const GgufArchitecture* arch = find_gguf_architecture_for_hf(model.model_type);
  if (!arch) {
    std::string known;
    for (const GgufArchitecture& a : gguf_architectures())
      known += std::string(known.empty() ? "" : ", ") + a.hf_model_type;
    fail(ErrorCode::kUnsupported, "{}: model_type \"{}\" has no GGUF tensor mapping in vkinfer ({})",
         (dir / "config.json").string(), model.model_type, known);
  }
  const bool is_gpt2 = std::string_view(arch->gguf_arch) == "gpt2";

  GgufWriter writer;
  writer.add_string("general.architecture", arch->gguf_arch);
  std::filesystem::path folder = std::filesystem::absolute(dir).lexically_normal();
  if (folder.filename().empty()) folder = folder.parent_path();  // "dir/"
  writer.add_string("general.name", folder.filename().string());
  writer.add_u32("general.file_type", gguf_file_type(recipe.name));
  writer.add_u32("general.quantization_version", 2);
  add_gguf_config_metadata(writer, *arch, model.raw, (dir / "config.json").string());

  const Checkpoint ck = Checkpoint::open(dir);
  GgufQuantizeSummary summary;
  summary.architecture = arch->gguf_arch;
  std::vector<Source> sources;
  std::string embed_hf;
  for (const std::string& name : ck.names()) {
    std::optional<GgufNameMatch> m = hf_to_gguf_name(*arch, name);
    // GPT-2 checkpoints saved from GPT2Model have no "transformer." prefix.
    if (!m && is_gpt2) m = hf_to_gguf_name(*arch, "transformer." + name);
    if (!m) {
      summary.skipped.push_back(name);
      continue;
    }
    // A tied head is the embedding: the converter writes no output.weight
    // (GPT-2 aside, below), and the reader ties it back from its absence.
    if (m->name == "output.weight" && c.tie_word_embeddings && !is_gpt2) {
      summary.skipped.push_back(name);
      continue;
    }
    if (m->name == "token_embd.weight") embed_hf = name;
    sources.push_back({name, *m});
  }
  const bool has_output = std::any_of(sources.begin(), sources.end(), [](const Source& s) { return s.gguf.name == "output.weight"; });
  // GPT2Model writes the tied head out as output.weight too.
  if (is_gpt2 && !has_output && !embed_hf.empty()) sources.push_back({embed_hf, {"output.weight", GgufLayout::kSame, -1}});
  if (embed_hf.empty())
    fail(ErrorCode::kMissingTensor, "{}: no token embedding (the tensor written as token_embd.weight)", dir.string());
  // The converter's order: token_embd and the globals first, then blocks.
  std::stable_sort(sources.begin(), sources.end(), [](const Source& a, const Source& b) { return a.gguf.block < b.gguf.block; });

  for (const Source& s : sources) {
    const TensorInfo& info = ck.info(s.hf);
    const std::vector<float> src = ck.read_f32(s.hf);
    const std::string& gname = s.gguf.name;
    if (info.shape.empty() || info.shape.size() > 2)
      fail(ErrorCode::kUnsupported, "{}: tensor {} has {} dims; GGUF export handles vectors and matrices",
           dir.string(), s.hf, info.shape.size());
    const bool matrix = info.shape.size() == 2;
    int64_t rows = matrix ? info.shape[0] : 1, cols = matrix ? info.shape[1] : info.shape[0];
    std::vector<float> out(src.size());
    const GgufLayout layout = s.gguf.layout;
    if (layout == GgufLayout::kTransposed && matrix) {
      // HF Conv1D [in, out] -> nn.Linear [out, in].
      const int64_t in = rows, outs = cols;
      for (int64_t r = 0; r < outs; ++r)
        for (int64_t k = 0; k < in; ++k) out[r * in + k] = src[k * outs + r];
      rows = outs;
      cols = in;
    } else if (layout == GgufLayout::kPermuteQ || layout == GgufLayout::kPermuteK || layout == GgufLayout::kNeoxQkv) {
      // Rows (elements, for a bias) move as whole rows.
      const int64_t n = matrix ? rows : cols, width = matrix ? cols : 1;
      const int64_t heads = layout == GgufLayout::kPermuteK ? c.num_kv_heads : c.num_heads;
      const int64_t group = layout == GgufLayout::kNeoxQkv ? 3 * heads : 2 * heads;
      if (heads <= 0 || n % group != 0)
        fail(ErrorCode::kUnsupported, "{}: tensor {} has {} rows, not a multiple of {} ({} heads) as its GGUF "
             "layout {} needs", dir.string(), s.hf, n, group, heads, gguf_layout_name(layout));
      for (int64_t g = 0; g < n; ++g) {
        const int64_t h = hf_row_of(layout, g, n, heads);
        std::copy_n(src.begin() + h * width, width, out.begin() + g * width);
      }
    } else if (layout == GgufLayout::kNormPlusOne) {
      for (size_t i = 0; i < src.size(); ++i) out[i] = src[i] + 1.0f;  // fp32, as the loader adds it
    } else {
      out = src;
    }

    GgmlType type = GgmlType::kF32;
    if (matrix) {
      if (const std::optional<QuantTensorKind> kind = kind_of(gname)) {
        const int64_t layer = s.gguf.block;
        type = quant_type_for(recipe, *kind, layer, c.num_layers, cols,
                              *kind == QuantTensorKind::kEmbedding && c.tie_word_embeddings);
      }
    }
    std::vector<int64_t> dims = matrix ? std::vector<int64_t>{cols, rows} : std::vector<int64_t>{cols};
    writer.add_tensor(gname, std::move(dims), type, quantize_rows(type, out, rows, cols));
    summary.type_counts[ggml_type_name(static_cast<uint32_t>(type))] += 1;
    ++summary.tensors;
  }

  if (options.tokenizer) {
    const int64_t vocab = ck.info(embed_hf).shape.at(0);
    summary.wrote_tokenizer = add_gguf_tokenizer_metadata(writer, dir, vocab);
  }
  writer.write(options.out);
  std::error_code ec;
  summary.file_bytes = std::filesystem::file_size(options.out, ec);
  return summary;
}

}  // namespace vkinfer
