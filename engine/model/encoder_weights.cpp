// HF BERT's tensor plan: canonical names, split kinds and sources
// (weights/tensor_plan.h slices them for a rank). BertForSequenceClassification
// names its encoder `bert.*` and adds `classifier.*`; a BertModel (what
// sentence-transformers saves) names it `embeddings.*`, `encoder.*`,
// `pooler.*`. The pooler and classifier are planned only for classification:
// sentence embeddings pool the last hidden states and never read them.
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

uint64_t padded(int64_t cols) { return uint64_t((cols + 7) / 8 * 8); }

constexpr const char* kWordEmbeddings = "embeddings.word_embeddings.weight";

}  // namespace

std::string encoder_prefix(const WeightLoader& loader) {
  // Shard files use canonical names: the sources only give shapes there.
  if (loader.has(kWordEmbeddings) && !loader.has(std::string("bert.") + kWordEmbeddings)) return "";
  return "bert.";
}

bool encoder_has_classifier(const WeightLoader& loader) {
  return loader.has("classifier.weight") && loader.has(encoder_prefix(loader) + "pooler.dense.weight");
}

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

uint64_t encoder_weight_bytes(const BertConfig& c, const RankShape& s, DType dtype, bool head) {
  const uint64_t e = dtype_size(dtype);
  const int64_t H = c.hidden_size, D = c.hidden_size / c.num_heads;
  const uint64_t layer = (3 * s.heads * D * padded(H) + H * padded(s.heads * D) +
                          s.intermediate * padded(H) + H * padded(s.intermediate)) * e +
                         (3 * s.heads * D + s.intermediate + 6 * H) * 4;
  uint64_t total = layer * c.num_layers;
  total += (s.vocab_local + c.max_position_embeddings + c.type_vocab_size) * padded(H) * e + 2 * H * 4;
  if (head) total += (H + c.num_labels) * padded(H) * e + (H + c.num_labels) * 4;
  return total;
}

namespace {

enum Role : int {
  kWord, kPositions, kTokenTypes, kEmbedNormGain, kEmbedNormBias, kQkv, kQkvBias, kAttnOut,
  kAttnOutBias, kAttnNormGain, kAttnNormBias, kMlpUp, kMlpUpBias, kMlpDown, kMlpDownBias,
  kMlpNormGain, kMlpNormBias, kPooler, kPoolerBias, kClassifier, kClassifierBias,
};

PlannedPart part(const std::string& source, std::vector<int64_t> shape, Dim dim, int64_t unit,
                 int64_t count = 0) {
  PlannedPart p;
  p.source = source;
  p.shape = std::move(shape);
  p.dim = dim;
  p.unit = unit;
  p.count = count;
  return p;
}

PlannedTensor planned(std::string key, int role, int64_t layer, TensorKind kind, Split split,
                      std::vector<PlannedPart> parts, int64_t cols = 0) {
  PlannedTensor t;
  t.key = std::move(key);
  t.role = role;
  t.layer = layer;
  t.kind = kind;
  t.split = split;
  t.parts = std::move(parts);
  t.cols = cols;
  return t;
}

}  // namespace

std::vector<PlannedTensor> encoder_tensor_plan(const WeightLoader& loader, const BertConfig& c, bool head) {
  const std::string bert = encoder_prefix(loader);
  if (head && loader.mode() != LoadMode::kShardRead && !loader.has("classifier.weight") &&
      loader.has(bert + "embeddings.word_embeddings.weight"))
    fail(ErrorCode::kUnsupported,
         "the checkpoint has no classifier (classifier.weight): it is a BertModel, not a "
         "BertForSequenceClassification. HINT: `vkinfer embed` computes sentence embeddings from it");
  const int64_t H = c.hidden_size, D = c.hidden_size / c.num_heads, I = c.intermediate_size;
  const TensorKind M = TensorKind::kMatrix, V = TensorKind::kVector;
  std::vector<PlannedTensor> plan;
  auto replicated_matrix = [&](std::string key, int role, int64_t layer, const std::string& source,
                               int64_t rows, int64_t cols) {
    plan.push_back(planned(std::move(key), role, layer, M, Split::kReplicated,
                           {part(source, {rows, cols}, Dim::kWhole, 1, rows)}, cols));
  };
  auto replicated_vector = [&](std::string key, int role, int64_t layer, const std::string& source,
                               int64_t count) {
    plan.push_back(planned(std::move(key), role, layer, V, Split::kReplicated,
                           {part(source, {count}, Dim::kWhole, 1, count)}));
  };
  auto norm = [&](const std::string& key, int gain_role, int64_t layer, const std::string& prefix) {
    replicated_vector(key + ".gain", gain_role, layer, norm_param(loader, prefix, true), H);
    replicated_vector(key + ".bias", gain_role + 1, layer, norm_param(loader, prefix, false), H);
  };

  plan.push_back(planned("embed", kWord, -1, M, Split::kVocab,
                         {part(bert + "embeddings.word_embeddings.weight", {c.vocab_size, H}, Dim::kVocab, 1)}, H));
  replicated_matrix("positions", kPositions, -1, bert + "embeddings.position_embeddings.weight",
                    c.max_position_embeddings, H);
  replicated_matrix("token_types", kTokenTypes, -1, bert + "embeddings.token_type_embeddings.weight",
                    c.type_vocab_size, H);
  norm("embed_norm", kEmbedNormGain, -1, bert + "embeddings.LayerNorm");

  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = bert + "encoder.layer." + std::to_string(i) + ".";
    const std::string key = "layers." + std::to_string(i) + ".";
    // Column-parallel Q/K/V: this rank's heads, stacked [q | k | v].
    std::vector<PlannedPart> qkv, qkv_bias;
    for (const char* name : {"query", "key", "value"}) {
      const std::string source = p + "attention.self." + name;
      qkv.push_back(part(source + ".weight", {H, H}, Dim::kQueryHeads, D));
      qkv_bias.push_back(part(source + ".bias", {H}, Dim::kQueryHeads, D));
    }
    plan.push_back(planned(key + "qkv", kQkv, i, M, Split::kColumn, qkv, H));
    plan.push_back(planned(key + "qkv_bias", kQkvBias, i, V, Split::kColumn, qkv_bias));
    // Row-parallel attention output: this rank's head columns; bias on rank 0.
    const std::string out = p + "attention.output.dense";
    PlannedTensor attn_out = planned(key + "attn_out", kAttnOut, i, M, Split::kRow,
                                     {part(out + ".weight", {H, H}, Dim::kWhole, 1, H)}, H);
    attn_out.col_dim = Dim::kQueryHeads;
    attn_out.col_unit = D;
    plan.push_back(attn_out);
    plan.push_back(planned(key + "attn_out_bias", kAttnOutBias, i, V, Split::kRow,
                           {part(out + ".bias", {H}, Dim::kWhole, 1, H)}));
    norm(key + "attn_norm", kAttnNormGain, i, p + "attention.output.LayerNorm");
    // MLP: column-parallel up, row-parallel down.
    const std::string up = p + "intermediate.dense", down = p + "output.dense";
    plan.push_back(planned(key + "mlp_up", kMlpUp, i, M, Split::kColumn,
                           {part(up + ".weight", {I, H}, Dim::kIntermediate, 1)}, H));
    plan.push_back(planned(key + "mlp_up_bias", kMlpUpBias, i, V, Split::kColumn,
                           {part(up + ".bias", {I}, Dim::kIntermediate, 1)}));
    PlannedTensor mlp_down = planned(key + "mlp_down", kMlpDown, i, M, Split::kRow,
                                     {part(down + ".weight", {H, I}, Dim::kWhole, 1, H)}, I);
    mlp_down.col_dim = Dim::kIntermediate;
    plan.push_back(mlp_down);
    plan.push_back(planned(key + "mlp_down_bias", kMlpDownBias, i, V, Split::kRow,
                           {part(down + ".bias", {H}, Dim::kWhole, 1, H)}));
    norm(key + "mlp_norm", kMlpNormGain, i, p + "output.LayerNorm");
  }

  if (!head) return plan;
  replicated_matrix("pooler", kPooler, -1, bert + "pooler.dense.weight", H, H);
  replicated_vector("pooler_bias", kPoolerBias, -1, bert + "pooler.dense.bias", H);
  replicated_matrix("classifier", kClassifier, -1, "classifier.weight", c.num_labels, H);
  replicated_vector("classifier_bias", kClassifierBias, -1, "classifier.bias", c.num_labels);
  return plan;
}

EncoderWeights load_encoder_weights(const WeightLoader& loader, const BertConfig& c,
                                    const RankShape& s, TpConfig tp, bool head) {
  const SplitRanges ranges = split_ranges(s, tp);
  EncoderWeights w;
  w.layers.resize(c.num_layers);
  for (const PlannedTensor& t : encoder_tensor_plan(loader, c, head)) {
    EncoderLayerWeights* L = t.layer >= 0 ? &w.layers[t.layer] : nullptr;
    Weight* matrix_dst = nullptr;
    Tensor* vector_dst = nullptr;
    switch (static_cast<Role>(t.role)) {
      case kWord: matrix_dst = &w.word; break;
      case kPositions: matrix_dst = &w.positions; break;
      case kTokenTypes: matrix_dst = &w.token_types; break;
      case kEmbedNormGain: vector_dst = &w.embed_norm_gain; break;
      case kEmbedNormBias: vector_dst = &w.embed_norm_bias; break;
      case kQkv: matrix_dst = &L->qkv; break;
      case kQkvBias: vector_dst = &L->qkv_bias; break;
      case kAttnOut: matrix_dst = &L->attn_out; break;
      case kAttnOutBias: vector_dst = &L->attn_out_bias; break;
      case kAttnNormGain: vector_dst = &L->attn_norm_gain; break;
      case kAttnNormBias: vector_dst = &L->attn_norm_bias; break;
      case kMlpUp: matrix_dst = &L->mlp_up; break;
      case kMlpUpBias: vector_dst = &L->mlp_up_bias; break;
      case kMlpDown: matrix_dst = &L->mlp_down; break;
      case kMlpDownBias: vector_dst = &L->mlp_down_bias; break;
      case kMlpNormGain: vector_dst = &L->mlp_norm_gain; break;
      case kMlpNormBias: vector_dst = &L->mlp_norm_bias; break;
      case kPooler: matrix_dst = &w.pooler; break;
      case kPoolerBias: vector_dst = &w.pooler_bias; break;
      case kClassifier: matrix_dst = &w.classifier; break;
      case kClassifierBias: vector_dst = &w.classifier_bias; break;
    }
    if (matrix_dst) *matrix_dst = load_matrix(loader, t, ranges);
    else *vector_dst = load_vector(loader, t, ranges);
  }
  return w;
}

}  // namespace vkinfer
