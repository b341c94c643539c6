// HF BertForSequenceClassification tensor names and how each is sliced for
// this rank (see partition/plan.h for the rules).
#include "engine/model/encoder_weights.h"

#include "engine/core/error.h"

namespace vkinfer {
namespace {

// Old BERT checkpoints (TF ports) name LayerNorm parameters gamma/beta;
// transformers renames them on load, so we accept both.
std::string norm_param(const WeightLoader& loader, const std::string& prefix, bool gain) {
  const std::string modern = prefix + (gain ? ".weight" : ".bias");
  const std::string old = prefix + (gain ? ".gamma" : ".beta");
  return !loader.has(modern) && loader.has(old) ? old : modern;
}

void load_norm(const WeightLoader& loader, const std::string& prefix, int64_t hidden, Tensor& gain,
               Tensor& bias) {
  const std::string gain_name = norm_param(loader, prefix, true);
  const std::string bias_name = norm_param(loader, prefix, false);
  loader.expect_shape(gain_name, {hidden});
  loader.expect_shape(bias_name, {hidden});
  gain = loader.vector(gain_name, 0, hidden);
  bias = loader.vector(bias_name, 0, hidden);
}

uint64_t padded(int64_t cols) { return uint64_t((cols + 7) / 8 * 8); }

}  // namespace

uint64_t EncoderWeights::device_bytes() const {
  uint64_t total = word.bytes() + positions.bytes() + token_types.bytes() + pooler.bytes() +
                   classifier.bytes() + embed_norm_gain.bytes() + embed_norm_bias.bytes() +
                   pooler_bias.bytes() + classifier_bias.bytes();
  for (const auto& l : layers)
    total += l.qkv.bytes() + l.qkv_bias.bytes() + l.attn_out.bytes() + l.attn_out_bias.bytes() +
             l.attn_norm_gain.bytes() + l.attn_norm_bias.bytes() + l.mlp_up.bytes() +
             l.mlp_up_bias.bytes() + l.mlp_down.bytes() + l.mlp_down_bias.bytes() +
             l.mlp_norm_gain.bytes() + l.mlp_norm_bias.bytes();
  return total;
}

uint64_t encoder_weight_bytes(const BertConfig& c, const RankShape& s, DType dtype) {
  const uint64_t e = dtype_size(dtype);
  const int64_t H = c.hidden_size, D = c.hidden_size / c.num_heads;
  const uint64_t layer = (3 * s.heads * D * padded(H) + H * padded(s.heads * D) +
                          s.intermediate * padded(H) + H * padded(s.intermediate)) * e +
                         (3 * s.heads * D + s.intermediate + 6 * H) * 4;
  uint64_t total = layer * c.num_layers;
  total += (s.vocab_local + c.max_position_embeddings + c.type_vocab_size + H + c.num_labels) *
           padded(H) * e;
  total += (3 * H + c.num_labels) * 4;
  return total;
}

EncoderWeights load_encoder_weights(const WeightLoader& loader, const BertConfig& c,
                                    const RankShape& s, TpConfig tp) {
  const int64_t H = c.hidden_size, D = c.hidden_size / c.num_heads, I = c.intermediate_size;
  EncoderWeights w;

  const std::string word = "bert.embeddings.word_embeddings.weight";
  loader.expect_shape(word, {c.vocab_size, H});
  w.word = loader.linear({{word, false, s.vocab_begin, s.vocab_valid, 0, H}},
                         s.vocab_local - s.vocab_valid);
  const std::string positions = "bert.embeddings.position_embeddings.weight";
  loader.expect_shape(positions, {c.max_position_embeddings, H});
  w.positions = loader.linear({{positions, false, 0, c.max_position_embeddings, 0, H}});
  const std::string types = "bert.embeddings.token_type_embeddings.weight";
  loader.expect_shape(types, {c.type_vocab_size, H});
  w.token_types = loader.linear({{types, false, 0, c.type_vocab_size, 0, H}});
  load_norm(loader, "bert.embeddings.LayerNorm", H, w.embed_norm_gain, w.embed_norm_bias);

  const int64_t local = s.heads * D, first = s.head_begin * D;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "bert.encoder.layer." + std::to_string(i) + ".";
    EncoderLayerWeights L;
    // Column-parallel Q/K/V: this rank's heads, stacked [q | k | v].
    std::vector<LinearSlice> qkv;
    std::vector<std::tuple<std::string, int64_t, int64_t>> qkv_bias;
    for (const char* part : {"query", "key", "value"}) {
      const std::string name = p + "attention.self." + part;
      loader.expect_shape(name + ".weight", {H, H});
      loader.expect_shape(name + ".bias", {H});
      qkv.push_back({name + ".weight", false, first, local, 0, H});
      qkv_bias.emplace_back(name + ".bias", first, local);
    }
    L.qkv = loader.linear(qkv);
    L.qkv_bias = loader.vectors(qkv_bias);

    // Row-parallel attention output: local input columns; bias on rank 0.
    const std::string out = p + "attention.output.dense";
    loader.expect_shape(out + ".weight", {H, H});
    loader.expect_shape(out + ".bias", {H});
    L.attn_out = loader.linear({{out + ".weight", false, 0, H, first, local}});
    if (tp.rank == 0) L.attn_out_bias = loader.vector(out + ".bias", 0, H);
    load_norm(loader, p + "attention.output.LayerNorm", H, L.attn_norm_gain, L.attn_norm_bias);

    // MLP: column-parallel up, row-parallel down.
    const std::string up = p + "intermediate.dense", down = p + "output.dense";
    loader.expect_shape(up + ".weight", {I, H});
    loader.expect_shape(up + ".bias", {I});
    loader.expect_shape(down + ".weight", {H, I});
    loader.expect_shape(down + ".bias", {H});
    L.mlp_up = loader.linear({{up + ".weight", false, s.intermediate_begin, s.intermediate, 0, H}});
    L.mlp_up_bias = loader.vector(up + ".bias", s.intermediate_begin, s.intermediate);
    L.mlp_down = loader.linear({{down + ".weight", false, 0, H, s.intermediate_begin, s.intermediate}});
    if (tp.rank == 0) L.mlp_down_bias = loader.vector(down + ".bias", 0, H);
    load_norm(loader, p + "output.LayerNorm", H, L.mlp_norm_gain, L.mlp_norm_bias);
    w.layers.push_back(std::move(L));
  }

  loader.expect_shape("bert.pooler.dense.weight", {H, H});
  loader.expect_shape("bert.pooler.dense.bias", {H});
  w.pooler = loader.linear({{"bert.pooler.dense.weight", false, 0, H, 0, H}});
  w.pooler_bias = loader.vector("bert.pooler.dense.bias", 0, H);
  loader.expect_shape("classifier.weight", {c.num_labels, H});
  loader.expect_shape("classifier.bias", {c.num_labels});
  w.classifier = loader.linear({{"classifier.weight", false, 0, c.num_labels, 0, H}});
  w.classifier_bias = loader.vector("classifier.bias", 0, c.num_labels);
  return w;
}

}  // namespace vkinfer
