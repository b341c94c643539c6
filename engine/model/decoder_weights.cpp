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
    case Arch::kLlama: {
      std::string p = pick_prefix(loader, {"model.", ""}, "embed_tokens.weight");
      n.embed = p + "embed_tokens.weight"; n.final_norm = p + "norm"; n.lm_head = "lm_head.weight";
      n.layer_prefix = p + "layers."; n.attn_norm = "input_layernorm";
      n.mlp_norm = "post_attention_layernorm"; n.q = "self_attn.q_proj"; n.k = "self_attn.k_proj";
      n.v = "self_attn.v_proj"; n.out = "self_attn.o_proj"; n.up = "mlp.up_proj";
      n.gate = "mlp.gate_proj"; n.down = "mlp.down_proj";
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

uint64_t decoder_weight_bytes(const DecoderConfig& c, const RankShape& s, DType dtype) {
  const uint64_t e = dtype_size(dtype);
  auto padded = [](int64_t cols) { return uint64_t((cols + 7) / 8 * 8); };
  const int64_t embed_dim = c.word_embed_proj_dim ? c.word_embed_proj_dim : c.hidden_size;
  const int64_t qkv_rows = (s.heads + 2 * s.kv_heads) * c.head_dim;
  uint64_t layer = qkv_rows * padded(c.hidden_size) + c.hidden_size * padded(s.heads * c.head_dim) +
                   s.intermediate * padded(c.hidden_size) * (c.gated_mlp ? 2 : 1) +
                   c.hidden_size * padded(s.intermediate);
  uint64_t total = layer * e * c.num_layers;
  total += s.vocab_local * padded(embed_dim) * e * (c.tie_word_embeddings ? 1 : 2);
  if (c.learned_positions) total += (c.max_positions + c.position_offset) * padded(c.hidden_size) * e;
  if (c.word_embed_proj_dim) total += 2 * c.hidden_size * padded(embed_dim) * e;
  total += (c.num_layers * 4 + 2) * c.hidden_size * 4 * 2;  // fp32 gains and biases
  return total;
}

DecoderWeights load_decoder_weights(const WeightLoader& loader, const DecoderConfig& c,
                                    const RankShape& s, TpConfig tp) {
  const Names n = names_for(c, loader);
  const int64_t H = c.hidden_size, D = c.head_dim, I = c.intermediate_size;
  const int64_t embed_dim = c.word_embed_proj_dim ? c.word_embed_proj_dim : H;
  const bool layer_norm = c.norm == NormKind::kLayerNorm;
  DecoderWeights w;

  // Embedding and LM head: this rank's vocabulary rows, padded.
  loader.expect_shape(n.embed, {c.vocab_size, embed_dim});
  w.embed = loader.linear("embed", {{n.embed, false, s.vocab_begin, s.vocab_valid, 0, embed_dim}},
                          s.vocab_local - s.vocab_valid);
  if (!c.tie_word_embeddings) {
    loader.expect_shape(n.lm_head, {c.vocab_size, embed_dim});
    w.lm_head_own = loader.linear("lm_head", {{n.lm_head, false, s.vocab_begin, s.vocab_valid, 0, embed_dim}},
                                  s.vocab_local - s.vocab_valid);
  }
  if (c.lm_head_bias) {
    loader.expect_shape("lm_head.bias", {c.vocab_size});
    w.lm_head_bias = loader.vector("lm_head_bias", "lm_head.bias", s.vocab_begin, s.vocab_valid,
                                   s.vocab_local - s.vocab_valid);
  }
  if (c.learned_positions) {
    const int64_t rows = c.max_positions + c.position_offset;
    loader.expect_shape(n.positions, {rows, H});
    w.positions = loader.linear("positions", {{n.positions, false, 0, rows, 0, H}});
  }
  if (c.word_embed_proj_dim) {
    loader.expect_shape(n.project_in, {H, embed_dim});
    loader.expect_shape(n.project_out, {embed_dim, H});
    w.project_in = loader.linear("project_in", {{n.project_in, false, 0, H, 0, embed_dim}});
    w.project_out = loader.linear("project_out", {{n.project_out, false, 0, embed_dim, 0, H}});
  }
  if (c.final_norm) {
    loader.expect_shape(n.final_norm + ".weight", {H});
    w.final_norm_gain = loader.vector("final_norm.gain", n.final_norm + ".weight", 0, H);
    if (layer_norm) w.final_norm_bias = loader.vector("final_norm.bias", n.final_norm + ".bias", 0, H);
  }

  const int64_t q_rows = s.heads * D, kv_rows = s.kv_heads * D;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = n.layer_prefix + std::to_string(i) + ".";
    const std::string key = "layers." + std::to_string(i) + ".";
    DecoderLayerWeights L;
    auto norm = [&](const std::string& hf, const std::string& name, Tensor& gain, Tensor& bias) {
      loader.expect_shape(p + hf + ".weight", {H});
      gain = loader.vector(key + name + ".gain", p + hf + ".weight", 0, H);
      if (layer_norm) {
        loader.expect_shape(p + hf + ".bias", {H});
        bias = loader.vector(key + name + ".bias", p + hf + ".bias", 0, H);
      }
    };
    norm(n.attn_norm, "attn_norm", L.attn_norm_gain, L.attn_norm_bias);
    if (!n.mlp_norm.empty()) norm(n.mlp_norm, "mlp_norm", L.mlp_norm_gain, L.mlp_norm_bias);

    // Column-parallel Q/K/V: local heads, stacked [q | k | v].
    if (n.conv1d) {
      const std::string name = p + n.qkv + ".weight";
      loader.expect_shape(name, {H, 3 * H});
      L.qkv = loader.linear(key + "qkv", {{name, true, s.head_begin * D, q_rows, 0, H},
                             {name, true, H + s.kv_head_begin * D, kv_rows, 0, H},
                             {name, true, 2 * H + s.kv_head_begin * D, kv_rows, 0, H}});
      const std::string bias = p + n.qkv + ".bias";
      loader.expect_shape(bias, {3 * H});
      L.qkv_bias = loader.vectors(key + "qkv_bias", {{bias, s.head_begin * D, q_rows},
                                   {bias, H + s.kv_head_begin * D, kv_rows},
                                   {bias, 2 * H + s.kv_head_begin * D, kv_rows}});
    } else if (n.neox_qkv) {
      const std::string name = p + n.qkv + ".weight", bias = p + n.qkv + ".bias";
      loader.expect_shape(name, {3 * H, H});
      if (c.qkv_bias) loader.expect_shape(bias, {3 * H});
      std::vector<LinearSlice> slices;
      std::vector<std::tuple<std::string, int64_t, int64_t>> bias_parts;
      for (int part = 0; part < 3; ++part) {
        const int64_t first = part == 0 ? s.head_begin : s.kv_head_begin;
        const int64_t count = part == 0 ? s.heads : s.kv_heads;
        for (int64_t h = first; h < first + count; ++h) {
          slices.push_back({name, false, h * 3 * D + part * D, D, 0, H});
          bias_parts.emplace_back(bias, h * 3 * D + part * D, D);
        }
      }
      L.qkv = loader.linear(key + "qkv", slices);
      if (c.qkv_bias) L.qkv_bias = loader.vectors(key + "qkv_bias", bias_parts);
    } else {
      const int64_t kv_width = c.num_kv_heads * D;
      loader.expect_shape(p + n.q + ".weight", {c.num_heads * D, H});
      loader.expect_shape(p + n.k + ".weight", {kv_width, H});
      loader.expect_shape(p + n.v + ".weight", {kv_width, H});
      L.qkv = loader.linear(key + "qkv", {{p + n.q + ".weight", false, s.head_begin * D, q_rows, 0, H},
                             {p + n.k + ".weight", false, s.kv_head_begin * D, kv_rows, 0, H},
                             {p + n.v + ".weight", false, s.kv_head_begin * D, kv_rows, 0, H}});
      if (c.qkv_bias)
        L.qkv_bias = loader.vectors(key + "qkv_bias", {{p + n.q + ".bias", s.head_begin * D, q_rows},
                                     {p + n.k + ".bias", s.kv_head_begin * D, kv_rows},
                                     {p + n.v + ".bias", s.kv_head_begin * D, kv_rows}});
    }

    // Row-parallel attention output: local input columns; bias on rank 0.
    const std::string out = p + n.out + ".weight";
    loader.expect_shape(out, n.conv1d ? std::vector<int64_t>{c.num_heads * D, H}
                                      : std::vector<int64_t>{H, c.num_heads * D});
    L.attn_out = loader.linear(key + "attn_out", {{out, n.conv1d, 0, H, s.head_begin * D, q_rows}});
    if (c.attn_out_bias && tp.rank == 0) L.attn_out_bias = loader.vector(key + "attn_out_bias", p + n.out + ".bias", 0, H);

    // MLP: column-parallel up (and gate), row-parallel down.
    const std::string up = p + n.up + ".weight", down = p + n.down + ".weight";
    loader.expect_shape(up, n.conv1d ? std::vector<int64_t>{H, I} : std::vector<int64_t>{I, H});
    loader.expect_shape(down, n.conv1d ? std::vector<int64_t>{I, H} : std::vector<int64_t>{H, I});
    L.mlp_up = loader.linear(key + "mlp_up", {{up, n.conv1d, s.intermediate_begin, s.intermediate, 0, H}});
    if (c.gated_mlp) {
      loader.expect_shape(p + n.gate + ".weight", {I, H});
      L.mlp_gate = loader.linear(key + "mlp_gate", {{p + n.gate + ".weight", false, s.intermediate_begin, s.intermediate, 0, H}});
    }
    if (c.mlp_bias) {
      if (c.gated_mlp)
        fail(ErrorCode::kUnsupported, "{}: gated MLPs with biases (mlp_bias=true) are not "
             "supported yet", loader.checkpoint().dir().string());
      L.mlp_up_bias = loader.vector(key + "mlp_up_bias", p + n.up + ".bias", s.intermediate_begin, s.intermediate);
      if (tp.rank == 0) L.mlp_down_bias = loader.vector(key + "mlp_down_bias", p + n.down + ".bias", 0, H);
    }
    L.mlp_down = loader.linear(key + "mlp_down", {{down, n.conv1d, 0, H, s.intermediate_begin, s.intermediate}});
    w.layers.push_back(std::move(L));
  }
  return w;
}

}  // namespace vkinfer
