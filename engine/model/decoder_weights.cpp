// HF tensor names per decoder family, and how each is sliced for this rank.
#include "engine/model/decoder_weights.h"

#include "engine/core/error.h"

namespace vkinfer {
namespace {

struct Names {
  std::string embed, positions, final_norm, lm_head, project_in, project_out;
  std::string layer_prefix;  // + index + "."
  std::string attn_norm, mlp_norm, q, k, v, qkv, out, up, gate, down;
  bool conv1d = false;       // GPT-2
  bool neox_qkv = false;     // per-head [q k v] blocks in one tensor
};

std::string pick_prefix(const WeightLoader& loader, const std::vector<std::string>& candidates,
                        const std::string& probe) {
  for (const auto& prefix : candidates)
    if (loader.has(prefix + probe)) return prefix;
  // Let the missing-tensor error name the canonical HF name.
  return candidates.front();
}

Names names_for(const DecoderConfig& config, const WeightLoader& loader) {
  Names n;
  switch (config.arch) {
    case Arch::kGpt2: {
      std::string p = pick_prefix(loader, {"transformer.", ""}, "wte.weight");
      n.embed = p + "wte.weight"; n.positions = p + "wpe.weight"; n.final_norm = p + "ln_f";
      n.lm_head = "lm_head.weight"; n.layer_prefix = p + "h.";
      n.attn_norm = "ln_1"; n.mlp_norm = "ln_2"; n.qkv = "attn.c_attn"; n.out = "attn.c_proj";
      n.up = "mlp.c_fc"; n.down = "mlp.c_proj"; n.conv1d = true;
      break;
    }
    case Arch::kLlama:
    case Arch::kQwen2:
    case Arch::kMistral:
    case Arch::kGemma:
    case Arch::kPhi3: {
      std::string p = pick_prefix(loader, {"model.", ""}, "embed_tokens.weight");
      n.embed = p + "embed_tokens.weight"; n.final_norm = p + "norm"; n.lm_head = "lm_head.weight";
      n.layer_prefix = p + "layers."; n.attn_norm = "input_layernorm";
      n.mlp_norm = "post_attention_layernorm"; n.q = "self_attn.q_proj"; n.k = "self_attn.k_proj";
      n.v = "self_attn.v_proj"; n.out = "self_attn.o_proj"; n.up = "mlp.up_proj";
      n.gate = "mlp.gate_proj"; n.down = "mlp.down_proj";
      if (config.fused_qkv) n.qkv = "self_attn.qkv_proj";  // Phi-3: [q | k | v] rows
      if (config.fused_gate_up) n.gate = "mlp.gate_up_proj";  // Phi-3: [gate | up] rows
      break;
    }
    case Arch::kOpt: {
      std::string p = pick_prefix(loader, {"model.decoder.", "decoder."}, "embed_tokens.weight");
      n.embed = p + "embed_tokens.weight"; n.positions = p + "embed_positions.weight";
      n.final_norm = p + "final_layer_norm"; n.lm_head = "lm_head.weight";
      n.project_in = p + "project_in.weight"; n.project_out = p + "project_out.weight";
      n.layer_prefix = p + "layers."; n.attn_norm = "self_attn_layer_norm";
      n.mlp_norm = "final_layer_norm"; n.q = "self_attn.q_proj"; n.k = "self_attn.k_proj";
      n.v = "self_attn.v_proj"; n.out = "self_attn.out_proj"; n.up = "fc1"; n.down = "fc2";
      break;
    }
    case Arch::kGptJ: {
      std::string p = pick_prefix(loader, {"transformer.", ""}, "wte.weight");
      n.embed = p + "wte.weight"; n.final_norm = p + "ln_f"; n.lm_head = "lm_head.weight";
      n.layer_prefix = p + "h."; n.attn_norm = "ln_1"; n.q = "attn.q_proj"; n.k = "attn.k_proj";
      n.v = "attn.v_proj"; n.out = "attn.out_proj"; n.up = "mlp.fc_in"; n.down = "mlp.fc_out";
      break;
    }
    case Arch::kGptNeoX: {
      std::string p = pick_prefix(loader, {"gpt_neox.", ""}, "embed_in.weight");
      n.embed = p + "embed_in.weight"; n.final_norm = p + "final_layer_norm";
      n.lm_head = "embed_out.weight"; n.layer_prefix = p + "layers.";
      n.attn_norm = "input_layernorm"; n.mlp_norm = "post_attention_layernorm";
      n.qkv = "attention.query_key_value"; n.out = "attention.dense"; n.up = "mlp.dense_h_to_4h";
      n.down = "mlp.dense_4h_to_h"; n.neox_qkv = true;
      break;
    }
    case Arch::kBert:
      fail(ErrorCode::kInvalidArgument, "BERT is an encoder; use `vkinfer classify`");
  }
  return n;
}

}  // namespace

uint64_t DecoderWeights::device_bytes() const {
  uint64_t total = embed.bytes() + positions.bytes() + project_in.bytes() + project_out.bytes() +
                   lm_head_own.bytes();
  for (const auto& layer : layers)
    total += layer.qkv.bytes() + layer.attn_out.bytes() + layer.mlp_up.bytes() +
             layer.mlp_gate.bytes() + layer.mlp_down.bytes();
  return total;
}

uint64_t decoder_weight_bytes(const DecoderConfig& c, const RankShape& s, DType dtype,
                              const StageRange& stage, double matrix_bytes_per_weight) {
  const double e = matrix_bytes_per_weight > 0 ? matrix_bytes_per_weight : double(dtype_size(dtype));
  auto padded = [](int64_t cols) { return uint64_t((cols + 7) / 8 * 8); };
  const int64_t embed_dim = c.word_embed_proj_dim ? c.word_embed_proj_dim : c.hidden_size;
  const int64_t qkv_rows = (s.heads + 2 * s.kv_heads) * c.head_dim;
  uint64_t layer = qkv_rows * padded(c.hidden_size) + c.hidden_size * padded(s.heads * c.head_dim) +
                   s.intermediate * padded(c.hidden_size) * (c.gated_mlp ? 2 : 1) +
                   c.hidden_size * padded(s.intermediate);
  uint64_t total = uint64_t(layer * e * stage.layers());
  const uint64_t vocab_matrix = uint64_t(s.vocab_local * padded(embed_dim) * e);
  // The embedding stage holds the table; the head stage its own head, or
  // the tied table again when it is a different stage.
  if (stage.has_embedding) total += vocab_matrix;
  if (stage.has_head && (!c.tie_word_embeddings || !stage.has_embedding)) total += vocab_matrix;
  if (stage.has_embedding && c.learned_positions)
    total += (c.max_positions + c.position_offset) * padded(c.hidden_size) * dtype_size(dtype);
  if (c.word_embed_proj_dim)
    total += uint64_t((int(stage.has_embedding) + int(stage.has_head)) * c.hidden_size * padded(embed_dim) * e);
  // fp32 gains and biases.
  total += (stage.layers() * 4 + (stage.has_head ? 2 : 0)) * c.hidden_size * 4 * 2;
  return total;
}

namespace {

// Which DecoderWeights member a planned tensor fills.
enum Role : int {
  kEmbed, kLmHead, kLmHeadBias, kPositions, kProjectIn, kProjectOut, kFinalNormGain, kFinalNormBias,
  kAttnNormGain, kAttnNormBias, kMlpNormGain, kMlpNormBias, kQkv, kQkvBias, kAttnOut, kAttnOutBias,
  kMlpUp, kMlpGate, kMlpUpBias, kMlpDown, kMlpDownBias,
};

PlannedPart whole(const std::string& source, std::vector<int64_t> shape, int64_t count) {
  PlannedPart part;
  part.source = source;
  part.shape = std::move(shape);
  part.count = count;
  return part;
}

PlannedPart along(const std::string& source, std::vector<int64_t> shape, Dim dim, int64_t unit,
                  int64_t offset = 0, int64_t stride = 0) {
  PlannedPart part;
  part.source = source;
  part.shape = std::move(shape);
  part.dim = dim;
  part.unit = unit;
  part.offset = offset;
  part.stride = stride;
  return part;
}

PlannedTensor matrix(std::string key, int role, int64_t layer, Split split, std::vector<PlannedPart> parts,
                     int64_t cols, bool conv1d = false) {
  PlannedTensor t;
  t.key = std::move(key);
  t.role = role;
  t.layer = layer;
  t.split = split;
  t.parts = std::move(parts);
  t.cols = cols;
  t.conv1d = conv1d;
  return t;
}

PlannedTensor vector(std::string key, int role, int64_t layer, Split split, std::vector<PlannedPart> parts) {
  PlannedTensor t = matrix(std::move(key), role, layer, split, std::move(parts), 0);
  t.kind = TensorKind::kVector;
  return t;
}

// What each matrix is to --quant's per-tensor rules (quant_recipe.h).
void set_quant_kinds(std::vector<PlannedTensor>& plan) {
  for (PlannedTensor& t : plan) {
    if (t.kind != TensorKind::kMatrix) continue;
    QuantTensorKind kind = QuantTensorKind::kOther;
    switch (static_cast<Role>(t.role)) {
      case kEmbed: kind = QuantTensorKind::kEmbedding; break;
      case kLmHead: kind = QuantTensorKind::kOutput; break;
      case kAttnOut: kind = QuantTensorKind::kAttnOut; break;
      case kMlpUp: kind = QuantTensorKind::kFfnUp; break;
      case kMlpGate: kind = QuantTensorKind::kFfnGate; break;
      case kMlpDown: kind = QuantTensorKind::kFfnDown; break;
      case kQkv: kind = QuantTensorKind::kAttnQkv; break;
      default: break;
    }
    for (PlannedPart& part : t.parts) {
      part.quant_kind = kind;
      part.quantize = t.role != kPositions;
    }
    // q, k and v from three tensors (Llama and most others): each its own
    // kind; one fused tensor (GPT-2, GPT-NeoX, Phi-3) stays kAttnQkv.
    if (t.role == kQkv && t.parts.size() == 3 && t.parts[0].source != t.parts[1].source) {
      t.parts[0].quant_kind = QuantTensorKind::kAttnQ;
      t.parts[1].quant_kind = QuantTensorKind::kAttnK;
      t.parts[2].quant_kind = QuantTensorKind::kAttnV;
    }
  }
}

}  // namespace

std::vector<PlannedTensor> decoder_tensor_plan(const WeightLoader& loader, const DecoderConfig& c,
                                               const StageRange& stage) {
  if (stage.first_layer < 0 || stage.end_layer > c.num_layers || stage.layers() < 1)
    fail(ErrorCode::kInternal, "decoder stage: layers [{}, {}) of a {}-layer model",
         stage.first_layer, stage.end_layer, c.num_layers);
  const Names n = names_for(c, loader);
  const int64_t H = c.hidden_size, D = c.head_dim, I = c.intermediate_size, V = c.vocab_size;
  const int64_t E = c.word_embed_proj_dim ? c.word_embed_proj_dim : H;
  const bool layer_norm = c.norm == NormKind::kLayerNorm;
  std::vector<PlannedTensor> plan;

  // Embedding and LM head: vocabulary rows. A head stage without the
  // embedding holds a tied head's table itself.
  if (stage.has_embedding)
    plan.push_back(matrix("embed", kEmbed, -1, Split::kVocab, {along(n.embed, {V, E}, Dim::kVocab, 1)}, E));
  if (stage.has_head && (!c.tie_word_embeddings || !stage.has_embedding)) {
    const bool tied = c.tie_word_embeddings;
    plan.push_back(matrix(tied ? "embed" : "lm_head", kLmHead, -1, Split::kVocab,
                          {along(tied ? n.embed : n.lm_head, {V, E}, Dim::kVocab, 1)}, E));
  }
  if (stage.has_head && c.lm_head_bias)
    plan.push_back(vector("lm_head_bias", kLmHeadBias, -1, Split::kVocab,
                          {along("lm_head.bias", {V}, Dim::kVocab, 1)}));
  if (stage.has_embedding && c.learned_positions) {
    const int64_t rows = c.max_positions + c.position_offset;
    plan.push_back(matrix("positions", kPositions, -1, Split::kReplicated, {whole(n.positions, {rows, H}, rows)}, H));
  }
  if (c.word_embed_proj_dim) {
    if (stage.has_embedding)
      plan.push_back(matrix("project_in", kProjectIn, -1, Split::kReplicated,
                            {whole(n.project_in, {H, E}, H)}, E));
    if (stage.has_head)
      plan.push_back(matrix("project_out", kProjectOut, -1, Split::kReplicated,
                            {whole(n.project_out, {E, H}, E)}, H));
  }
  if (stage.has_head && c.final_norm) {
    plan.push_back(vector("final_norm.gain", kFinalNormGain, -1, Split::kReplicated,
                          {whole(n.final_norm + ".weight", {H}, H)}));
    plan.back().add = c.norm_gain_offset;
    if (layer_norm)
      plan.push_back(vector("final_norm.bias", kFinalNormBias, -1, Split::kReplicated,
                            {whole(n.final_norm + ".bias", {H}, H)}));
  }

  for (int64_t i = stage.first_layer; i < stage.end_layer; ++i) {
    const std::string p = n.layer_prefix + std::to_string(i) + ".";
    const std::string key = "layers." + std::to_string(i) + ".";
    auto norm = [&](const std::string& hf, const std::string& name, int gain_role, int bias_role) {
      plan.push_back(vector(key + name + ".gain", gain_role, i, Split::kReplicated,
                            {whole(p + hf + ".weight", {H}, H)}));
      plan.back().add = c.norm_gain_offset;
      if (layer_norm)
        plan.push_back(vector(key + name + ".bias", bias_role, i, Split::kReplicated,
                              {whole(p + hf + ".bias", {H}, H)}));
    };
    norm(n.attn_norm, "attn_norm", kAttnNormGain, kAttnNormBias);
    if (!n.mlp_norm.empty()) norm(n.mlp_norm, "mlp_norm", kMlpNormGain, kMlpNormBias);

    // Column-parallel Q/K/V: this rank's heads, stacked [q | k | v].
    std::vector<PlannedPart> qkv, qkv_bias;
    if (n.conv1d) {  // GPT-2: one [in, out] tensor, q k v side by side
      const std::string w = p + n.qkv + ".weight", b = p + n.qkv + ".bias";
      for (int part = 0; part < 3; ++part) {
        const Dim dim = part == 0 ? Dim::kQueryHeads : Dim::kKvHeads;
        qkv.push_back(along(w, {H, 3 * H}, dim, D, part * H));
        qkv_bias.push_back(along(b, {3 * H}, dim, D, part * H));
      }
    } else if (n.neox_qkv) {  // GPT-NeoX: per head [q k v], heads one after another
      const std::string w = p + n.qkv + ".weight", b = p + n.qkv + ".bias";
      for (int part = 0; part < 3; ++part) {
        const Dim dim = part == 0 ? Dim::kQueryHeads : Dim::kKvHeads;
        qkv.push_back(along(w, {3 * H, H}, dim, D, part * D, 3 * D));
        qkv_bias.push_back(along(b, {3 * H}, dim, D, part * D, 3 * D));
      }
    } else if (c.fused_qkv) {  // Phi-3: one [q | k | v] tensor, no bias
      const int64_t q_rows = c.num_heads * D, kv_rows = c.num_kv_heads * D;
      const std::string w = p + n.qkv + ".weight";
      const std::vector<int64_t> shape = {q_rows + 2 * kv_rows, H};
      qkv.push_back(along(w, shape, Dim::kQueryHeads, D, 0));
      qkv.push_back(along(w, shape, Dim::kKvHeads, D, q_rows));
      qkv.push_back(along(w, shape, Dim::kKvHeads, D, q_rows + kv_rows));
    } else {
      const int64_t kv_width = c.num_kv_heads * D;
      const std::string names[3] = {n.q, n.k, n.v};
      for (int part = 0; part < 3; ++part) {
        const Dim dim = part == 0 ? Dim::kQueryHeads : Dim::kKvHeads;
        const int64_t rows = part == 0 ? c.num_heads * D : kv_width;
        qkv.push_back(along(p + names[part] + ".weight", {rows, H}, dim, D));
        qkv_bias.push_back(along(p + names[part] + ".bias", {rows}, dim, D));
      }
    }
    plan.push_back(matrix(key + "qkv", kQkv, i, Split::kColumn, qkv, H, n.conv1d));
    if (n.conv1d || c.qkv_bias) plan.push_back(vector(key + "qkv_bias", kQkvBias, i, Split::kColumn, qkv_bias));

    // Row-parallel attention output: this rank's head columns; its bias is
    // added once, by rank 0.
    const std::string out = p + n.out + ".weight";
    PlannedTensor attn_out = matrix(key + "attn_out", kAttnOut, i, Split::kRow,
                                    {whole(out, n.conv1d ? std::vector<int64_t>{c.num_heads * D, H}
                                                         : std::vector<int64_t>{H, c.num_heads * D}, H)},
                                    c.num_heads * D, n.conv1d);
    attn_out.col_dim = Dim::kQueryHeads;
    attn_out.col_unit = D;
    plan.push_back(attn_out);
    if (c.attn_out_bias)
      plan.push_back(vector(key + "attn_out_bias", kAttnOutBias, i, Split::kRow,
                            {whole(p + n.out + ".bias", {H}, H)}));

    // MLP: column-parallel up (and gate), row-parallel down.
    if (c.mlp_bias && c.gated_mlp)
      fail(ErrorCode::kUnsupported, "{}: gated MLPs with biases (mlp_bias=true) are not supported yet",
           loader.checkpoint().dir().string());
    const std::string down = p + n.down + ".weight";
    if (c.fused_gate_up) {  // Phi-3: gate rows [0, I), up rows [I, 2I) of one tensor
      const std::string gate_up = p + n.gate + ".weight";
      plan.push_back(matrix(key + "mlp_up", kMlpUp, i, Split::kColumn,
                            {along(gate_up, {2 * I, H}, Dim::kIntermediate, 1, I)}, H));
      plan.push_back(matrix(key + "mlp_gate", kMlpGate, i, Split::kColumn,
                            {along(gate_up, {2 * I, H}, Dim::kIntermediate, 1, 0)}, H));
    } else {
      const std::string up = p + n.up + ".weight";
      plan.push_back(matrix(key + "mlp_up", kMlpUp, i, Split::kColumn,
                            {along(up, n.conv1d ? std::vector<int64_t>{H, I} : std::vector<int64_t>{I, H},
                                   Dim::kIntermediate, 1)}, H, n.conv1d));
      if (c.gated_mlp)
        plan.push_back(matrix(key + "mlp_gate", kMlpGate, i, Split::kColumn,
                              {along(p + n.gate + ".weight", {I, H}, Dim::kIntermediate, 1)}, H));
    }
    if (c.mlp_bias) {
      plan.push_back(vector(key + "mlp_up_bias", kMlpUpBias, i, Split::kColumn,
                            {along(p + n.up + ".bias", {I}, Dim::kIntermediate, 1)}));
      plan.push_back(vector(key + "mlp_down_bias", kMlpDownBias, i, Split::kRow,
                            {whole(p + n.down + ".bias", {H}, H)}));
    }
    PlannedTensor mlp_down = matrix(key + "mlp_down", kMlpDown, i, Split::kRow,
                                    {whole(down, n.conv1d ? std::vector<int64_t>{I, H} : std::vector<int64_t>{H, I}, H)},
                                    I, n.conv1d);
    mlp_down.col_dim = Dim::kIntermediate;
    plan.push_back(mlp_down);
  }
  set_quant_kinds(plan);
  return plan;
}

DecoderWeights load_decoder_weights(const WeightLoader& loader, const DecoderConfig& c,
                                    const RankShape& s, TpConfig tp, const StageRange& stage) {
  const std::vector<PlannedTensor> plan = decoder_tensor_plan(loader, c, stage);
  const SplitRanges ranges = split_ranges(s, tp);
  DecoderWeights w;
  w.layers.resize(stage.layers());
  for (const PlannedTensor& t : plan) {
    DecoderLayerWeights* L = t.layer >= 0 ? &w.layers[t.layer - stage.first_layer] : nullptr;
    Weight* matrix_dst = nullptr;
    Tensor* vector_dst = nullptr;
    switch (static_cast<Role>(t.role)) {
      case kEmbed: matrix_dst = &w.embed; break;
      case kLmHead: matrix_dst = &w.lm_head_own; break;
      case kLmHeadBias: vector_dst = &w.lm_head_bias; break;
      case kPositions: matrix_dst = &w.positions; break;
      case kProjectIn: matrix_dst = &w.project_in; break;
      case kProjectOut: matrix_dst = &w.project_out; break;
      case kFinalNormGain: vector_dst = &w.final_norm_gain; break;
      case kFinalNormBias: vector_dst = &w.final_norm_bias; break;
      case kAttnNormGain: vector_dst = &L->attn_norm_gain; break;
      case kAttnNormBias: vector_dst = &L->attn_norm_bias; break;
      case kMlpNormGain: vector_dst = &L->mlp_norm_gain; break;
      case kMlpNormBias: vector_dst = &L->mlp_norm_bias; break;
      case kQkv: matrix_dst = &L->qkv; break;
      case kQkvBias: vector_dst = &L->qkv_bias; break;
      case kAttnOut: matrix_dst = &L->attn_out; break;
      case kAttnOutBias: vector_dst = &L->attn_out_bias; break;
      case kMlpUp: matrix_dst = &L->mlp_up; break;
      case kMlpGate: matrix_dst = &L->mlp_gate; break;
      case kMlpUpBias: vector_dst = &L->mlp_up_bias; break;
      case kMlpDown: matrix_dst = &L->mlp_down; break;
      case kMlpDownBias: vector_dst = &L->mlp_down_bias; break;
    }
    if (matrix_dst) *matrix_dst = load_matrix(loader, t, ranges);
    else *vector_dst = load_vector(loader, t, ranges);
  }
  // A gated MLP runs gate and up in one dispatch per chunk, so the two must
  // agree chunk by chunk in format (llama.cpp writes ffn_gate and ffn_up in
  // one type; a file that does not is refused here, at load).
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const Weight& gate = w.layers[i].mlp_gate;
    const Weight& up = w.layers[i].mlp_up;
    if (gate.empty() || up.empty()) continue;
    bool same = gate.chunks.size() == up.chunks.size();
    for (size_t c = 0; same && c < gate.chunks.size(); ++c)
      same = gate.chunks[c].format == up.chunks[c].format && gate.chunks[c].row_count == up.chunks[c].row_count;
    if (!same)
      fail(ErrorCode::kUnsupported, "{}: layer {}'s MLP gate ({}) and up ({}) weights are in different formats; "
           "vkinfer runs them as one fused GLU and needs them alike", loader.checkpoint().dir().string(),
           stage.first_layer + int64_t(i), gate.format.name, up.format.name);
  }
  return w;
}

}  // namespace vkinfer
