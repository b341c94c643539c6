#include "engine/model/encoder.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "engine/core/error.h"
#include "engine/model/graph_util.h"
#include "engine/ops/attention.h"
#include "engine/ops/embedding.h"
#include "engine/ops/matmul.h"
#include "engine/ops/norm.h"
#include "engine/ops/pooling.h"
#include "engine/vk/device.h"

namespace vkinfer {
namespace {

int64_t head_dim(const BertConfig& c) { return c.hidden_size / c.num_heads; }

// Floats per row of activations: hidden, qkv, attention output, MLP.
int64_t row_floats(const BertConfig& c, const RankShape& s) {
  return c.hidden_size + 4 * s.heads * head_dim(c) + s.intermediate;
}

// uint32 per row (ids, type ids, positions) and per sequence (bounds).
uint64_t input_bytes(int64_t batch, int64_t length) { return (3ull * batch * length + 2 * batch) * 4; }

int64_t longest_bucket(const EncoderLimits& l) {
  return l.buckets.empty() ? 0 : *std::max_element(l.buckets.begin(), l.buckets.end());
}

// One attention scores scratch serves every bucket: requests run one at a time.
uint64_t scores_bytes(const RankShape& s, const EncoderLimits& l) {
  const int64_t T = longest_bucket(l);
  return ops::attention_scores_bytes(l.batch, s.heads, T, T);
}

}  // namespace

// Everything one padded length needs, allocated at load time.
struct Encoder::Bucket {
  int64_t length = 0;  // T
  Tensor hidden;       // [B*T, hidden] residual stream
  Tensor qkv;          // [B*T, 3 * heads_local * head_dim]
  Tensor attn;         // [B*T, heads_local * head_dim]
  Tensor mlp;          // [B*T, intermediate_local]
  Tensor pooled;       // classification: [B, hidden] tanh(pooler([CLS]))
  Tensor out;          // [B, output width]: logits, or pooled sentence embeddings
  vk::Buffer ids, type_ids, positions;  // uint32 [B*T]; positions fixed: t of row b*T+t
  vk::Buffer seq_bounds;                // uint32 [B][2]: {0, real length}
  vk::Buffer staging;   // host-visible [ids | type ids | bounds] of the next request
  vk::Buffer readback;  // host-visible [B, output width]
};

int64_t encoder_output_width(const BertConfig& c, const EncoderHead& head) {
  return head.embeds() ? ops::pooled_width(head.pooling, c.hidden_size) : c.num_labels;
}

uint64_t encoder_runtime_bytes(const BertConfig& c, const RankShape& s, const EncoderLimits& l,
                               const EncoderHead& head) {
  const int64_t head_floats = (head.embeds() ? 0 : c.hidden_size) + 2 * encoder_output_width(c, head);
  uint64_t total = 0;
  for (int64_t T : l.buckets)
    total += uint64_t(l.batch) * T * row_floats(c, s) * 4 + input_bytes(l.batch, T) * 2 +
             uint64_t(l.batch) * head_floats * 4;
  return total + scores_bytes(s, l);
}

uint64_t encoder_largest_buffer_bytes(const BertConfig& c, const RankShape& s, const EncoderLimits& l) {
  const int64_t T = longest_bucket(l);
  const int64_t widest = std::max({c.hidden_size, 3 * s.heads * head_dim(c), s.intermediate});
  return uint64_t(l.batch) * T * widest * 4;
}

Encoder::Encoder(vk::Device& device, Communicator& comm, const BertConfig& config, RankShape shape,
                 EncoderWeights weights, EncoderLimits limits, EncoderHead head)
    : device_(device), comm_(comm), config_(config), shape_(shape), weights_(std::move(weights)),
      limits_(std::move(limits)), head_(head),
      policy_(ops::choose_policy(device.info(), config.hidden_size * std::max(3 * shape.heads * head_dim(config),
                                                                              shape.intermediate))),
      collectives_(device, comm, uint64_t(std::max<int64_t>(limits_.batch, 0)) *
                                     longest_bucket(limits_) * config.hidden_size * 4) {
  // Loading may create pipelines even on a device an earlier model sealed.
  vk::Device::LoadScope loading(device);
  if (limits_.batch < 1 || limits_.buckets.empty())
    fail(ErrorCode::kInternal, "encoder limits: batch {} with {} buckets", limits_.batch,
         limits_.buckets.size());
  const int64_t B = limits_.batch, H = config.hidden_size, local = shape.heads * head_dim(config);
  for (int64_t T : limits_.buckets) {
    if (T < 1 || T > config.max_position_embeddings)
      fail(ErrorCode::kInvalidArgument, "bucket {} is outside [1, {}] (max_position_embeddings)", T,
           config.max_position_embeddings);
    Bucket b;
    b.length = T;
    b.hidden = Tensor::create(device, B * T, H);
    b.qkv = Tensor::create(device, B * T, 3 * local);
    b.attn = Tensor::create(device, B * T, local);
    b.mlp = Tensor::create(device, B * T, shape.intermediate);
    if (!head_.embeds()) b.pooled = Tensor::create(device, B, H);
    b.out = Tensor::create(device, B, output_width());
    b.ids = vk::Buffer::create(device, B * T * 4, vk::MemoryKind::kDevice);
    b.type_ids = vk::Buffer::create(device, B * T * 4, vk::MemoryKind::kDevice);
    b.positions = vk::Buffer::create(device, B * T * 4, vk::MemoryKind::kDevice);
    b.seq_bounds = vk::Buffer::create(device, B * 8, vk::MemoryKind::kDevice);
    b.staging = vk::Buffer::create(device, (2 * B * T + 2 * B) * 4, vk::MemoryKind::kHostUpload);
    b.readback = vk::Buffer::create(device, B * output_width() * 4, vk::MemoryKind::kHostReadback);
    std::vector<uint32_t> positions(B * T);
    for (int64_t r = 0; r < B * T; ++r) positions[r] = static_cast<uint32_t>(r % T);
    device.upload(b.positions, 0, positions.data(), positions.size() * 4);
    buckets_.push_back(std::move(b));
  }
  if (uint64_t bytes = scores_bytes(shape, limits_))
    scores_ = vk::Buffer::create(device, bytes, vk::MemoryKind::kDevice);
  // Every pipeline is built (and, on drivers that compile at first
  // dispatch, compiled) at load; then a request may create none.
  prepare_pipelines();
}

Encoder::~Encoder() = default;

std::optional<size_t> Encoder::bucket_for(int64_t length) const {
  for (size_t i = 0; i < limits_.buckets.size(); ++i)
    if (limits_.buckets[i] >= length) return i;
  return std::nullopt;
}

std::vector<uint32_t> Encoder::row_class(size_t bucket, int64_t count) const {
  // Pipelines depend on the row count only through the matmul kernel choice
  // (ops::matmul_row_class) and the attention path: the layers have
  // M = sequences * T, the pooler and classifier M = sequences (pooling has
  // one kernel for every count).
  const int64_t H = config_.hidden_size, T = buckets_[bucket].length;
  std::vector<uint32_t> key;
  for (int64_t K : {H, shape_.heads * head_dim(config_), shape_.intermediate})
    key.push_back(ops::matmul_row_class(count * T, K, policy_.matmul));
  if (!head_.embeds()) key.push_back(ops::matmul_row_class(count, H, policy_.matmul));
  key.push_back(static_cast<uint32_t>(ops::attention_row_class(T, policy_.reduce)));
  return key;
}

void Encoder::prepare_pipelines() {
  // One forward per row class, on the shortest bucket that has it (inside
  // the constructor's LoadScope).
  vk::CommandStream stream(device_);
  EncoderInput one{{std::max(config_.pad_token_id, 0)}, {}};
  std::set<std::vector<uint32_t>> classes;
  for (size_t i = 0; i < buckets_.size(); ++i)
    for (int64_t count = 1; count <= limits_.batch; ++count)
      if (classes.insert(row_class(i, count)).second)
        run(stream, i, std::vector<const EncoderInput*>(static_cast<size_t>(count), &one));
  device_.seal();
}

void Encoder::warm_up(vk::CommandStream& stream) {
  // Load-time work, also on a sealed device (a second replica loading).
  vk::Device::LoadScope loading(device_);
  EncoderInput one{{std::max(config_.pad_token_id, 0)}, {}};
  // Each bucket runs once per sequence count that picks a new set of
  // kernels, and once with `batch` sequences, the largest recording (it
  // sizes the stream's descriptor pools).
  for (size_t i = 0; i < buckets_.size(); ++i) {
    std::set<std::vector<uint32_t>> classes;
    for (int64_t count = 1; count <= limits_.batch; ++count) {
      if (!classes.insert(row_class(i, count)).second && count != limits_.batch) continue;
      run(stream, i, std::vector<const EncoderInput*>(static_cast<size_t>(count), &one));
    }
  }
}

void Encoder::upload_inputs(vk::CommandStream& stream, Bucket& b,
                            const std::vector<const EncoderInput*>& inputs) {
  const int64_t T = b.length, count = static_cast<int64_t>(inputs.size());
  const int32_t pad = std::max(config_.pad_token_id, 0);
  auto* host = static_cast<uint32_t*>(b.staging.mapped());
  uint32_t* ids = host;
  uint32_t* types = host + count * T;
  uint32_t* bounds = host + 2 * count * T;
  for (int64_t s = 0; s < count; ++s) {
    const EncoderInput& in = *inputs[s];
    const int64_t n = static_cast<int64_t>(in.ids.size());
    if (n < 1 || n > T)
      fail(ErrorCode::kInvalidArgument, "a sequence of {} tokens does not fit bucket {}", n, T);
    if (!in.type_ids.empty() && in.type_ids.size() != in.ids.size())
      fail(ErrorCode::kInvalidArgument, "{} token type ids given for {} input ids",
           in.type_ids.size(), in.ids.size());
    for (int64_t t = 0; t < T; ++t) {
      const int32_t id = t < n ? in.ids[t] : pad;
      const int32_t type = t < n && !in.type_ids.empty() ? in.type_ids[t] : 0;
      if (id < 0 || id >= config_.vocab_size)
        fail(ErrorCode::kInvalidArgument, "token id {} is outside the vocabulary [0, {})", id,
             config_.vocab_size);
      if (type < 0 || type >= config_.type_vocab_size)
        fail(ErrorCode::kInvalidArgument, "token type id {} is outside [0, {}) (type_vocab_size)",
             type, config_.type_vocab_size);
      ids[s * T + t] = static_cast<uint32_t>(id);
      types[s * T + t] = static_cast<uint32_t>(type);
    }
    bounds[2 * s] = 0;  // keys [0, n) are visible: the padding mask
    bounds[2 * s + 1] = static_cast<uint32_t>(n);
  }
  const uint64_t rows_bytes = count * T * 4;
  stream.copy(b.staging, 0, b.ids, 0, rows_bytes);
  stream.copy(b.staging, rows_bytes, b.type_ids, 0, rows_bytes);
  stream.copy(b.staging, 2 * rows_bytes, b.seq_bounds, 0, count * 8);
}

std::vector<float> Encoder::classify(vk::CommandStream& stream, size_t bucket,
                                     const std::vector<const EncoderInput*>& inputs) {
  if (head_.embeds()) fail(ErrorCode::kInternal, "classify() on an encoder loaded for embeddings");
  return run(stream, bucket, inputs);
}

std::vector<float> Encoder::embed(vk::CommandStream& stream, size_t bucket,
                                  const std::vector<const EncoderInput*>& inputs) {
  if (!head_.embeds()) fail(ErrorCode::kInternal, "embed() on an encoder loaded for classification");
  return run(stream, bucket, inputs);
}

std::vector<float> Encoder::run(vk::CommandStream& stream, size_t bucket,
                                const std::vector<const EncoderInput*>& inputs) {
  Bucket& b = buckets_.at(bucket);
  const int64_t count = static_cast<int64_t>(inputs.size());
  if (count < 1 || count > limits_.batch)
    fail(ErrorCode::kInternal, "{} sequences for a batch of {}", count, limits_.batch);
  upload_inputs(stream, b, inputs);
  forward(stream, b, count);
  const int64_t width = output_width();
  stream.copy(b.out.buffer, 0, b.readback, 0, count * width * 4);
  stream.finish();
  std::vector<float> out(count * width);
  std::copy_n(static_cast<const float*>(b.readback.mapped()), out.size(), out.data());
  return out;
}

void Encoder::forward(vk::CommandStream& stream, Bucket& b, int64_t count) {
  const BertConfig& c = config_;
  const int64_t T = b.length, rows = count * T, H = c.hidden_size;

  // Word embedding: vocab-parallel partial rows, summed across ranks; then
  // every rank adds the replicated position and token-type rows.
  ops::EmbeddingArgs word;
  word.table = &weights_.word;
  word.ids = ops::View(b.ids, 0, 1);
  word.M = rows;
  word.y = b.hidden;
  word.row_offset = shape_.vocab_begin;
  ops::embedding(stream, word);
  collectives_.all_reduce(stream, b.hidden.buffer, 0, rows * b.hidden.cols);
  ops::EmbeddingArgs type = word;
  type.table = &weights_.token_types;
  type.ids = ops::View(b.type_ids, 0, 1);
  type.row_offset = 0;
  type.accumulate = true;
  ops::embedding(stream, type);
  ops::EmbeddingArgs position = type;
  position.table = &weights_.positions;
  position.ids = ops::View(b.positions, 0, 1);
  ops::embedding(stream, position);

  ops::NormArgs norm;
  norm.x = b.hidden;
  norm.gamma = weights_.embed_norm_gain;
  norm.beta = weights_.embed_norm_bias;
  norm.y = b.hidden;
  norm.M = rows;
  norm.N = H;
  norm.eps = static_cast<float>(c.layer_norm_eps);
  ops::norm(stream, norm, policy_.reduce);

  for (size_t i = 0; i < weights_.layers.size(); ++i) layer(stream, b, i, count);

  if (head_.embeds()) {
    // sentence-transformers' Pooling (and Normalize) over each sequence's
    // real rows: seq_bounds is the attention mask.
    ops::PoolingArgs pool;
    pool.x = b.hidden;
    pool.seq_bounds = &b.seq_bounds;
    pool.batch = count;
    pool.rows_per_seq = T;
    pool.N = H;
    pool.modes = head_.pooling;
    pool.normalize = head_.normalize;
    pool.y = b.out;
    ops::pooling(stream, pool, policy_.reduce);
    return;
  }

  // Pooler on each sequence's first row ([CLS]): a row stride of T rows.
  ops::MatmulArgs pooler;
  pooler.x = ops::View(b.hidden.buffer, 0, static_cast<uint32_t>(T * H));
  pooler.M = count;
  pooler.weight = &weights_.pooler;
  pooler.bias = weights_.pooler_bias;
  pooler.act = ops::Act::kTanh;
  pooler.y = b.pooled;
  ops::matmul(stream, pooler, policy_.matmul);

  ops::MatmulArgs classifier;
  classifier.x = b.pooled;
  classifier.M = count;
  classifier.weight = &weights_.classifier;
  classifier.bias = weights_.classifier_bias;
  classifier.y = b.out;
  ops::matmul(stream, classifier, policy_.matmul);
}

void Encoder::layer(vk::CommandStream& stream, Bucket& b, size_t index, int64_t count) {
  const BertConfig& c = config_;
  const EncoderLayerWeights& w = weights_.layers[index];
  const int64_t T = b.length, rows = count * T, H = c.hidden_size, D = head_dim(c);
  const int64_t local = shape_.heads * D;
  const bool rank0 = comm_.rank() == 0;
  auto layer_norm = [&](const Tensor& gain, const Tensor& bias) {
    ops::NormArgs args;
    args.x = b.hidden;
    args.gamma = gain;
    args.beta = bias;
    args.y = b.hidden;
    args.M = rows;
    args.N = H;
    args.eps = static_cast<float>(c.layer_norm_eps);
    ops::norm(stream, args, policy_.reduce);
  };

  ops::MatmulArgs qkv;
  qkv.x = b.hidden;
  qkv.M = rows;
  qkv.weight = &w.qkv;
  qkv.bias = w.qkv_bias;
  qkv.y = b.qkv;
  ops::matmul(stream, qkv, policy_.matmul);

  // K and V are read straight from the fused qkv rows; keys past each
  // sequence's length are masked (HF's extended attention mask).
  const uint32_t width = static_cast<uint32_t>(3 * local);
  ops::AttentionArgs attention;
  attention.q = ops::View(b.qkv.buffer, 0, width);
  attention.out = b.attn;
  attention.kv.k = &b.qkv.buffer;
  attention.kv.v = &b.qkv.buffer;
  attention.kv.k_offset = static_cast<uint32_t>(local);
  attention.kv.v_offset = static_cast<uint32_t>(2 * local);
  attention.kv.seq_stride = static_cast<uint32_t>(T) * width;
  attention.kv.head_stride = static_cast<uint32_t>(D);
  attention.kv.pos_stride = width;
  attention.seq_bounds = &b.seq_bounds;
  attention.batch = count;
  attention.rows_per_seq = T;
  attention.num_heads = shape_.heads;
  attention.num_kv_heads = shape_.heads;
  attention.head_dim = D;
  attention.causal = false;
  attention.scale = 1.0f / std::sqrt(static_cast<float>(D));
  if (scores_.valid()) attention.scores = &scores_;
  ops::attention(stream, attention, policy_.reduce);

  // Attention output: row-parallel; rank 0 adds bias and residual.
  ops::MatmulArgs out;
  out.x = b.attn;
  out.M = rows;
  out.weight = &w.attn_out;
  out.bias = optional_view(w.attn_out_bias);
  if (rank0) out.residual = b.hidden;
  out.y = b.hidden;
  ops::matmul(stream, out, policy_.matmul);
  collectives_.all_reduce(stream, b.hidden.buffer, 0, rows * b.hidden.cols);
  layer_norm(w.attn_norm_gain, w.attn_norm_bias);

  ops::MatmulArgs up;
  up.x = b.hidden;
  up.M = rows;
  up.weight = &w.mlp_up;
  up.bias = w.mlp_up_bias;
  up.act = op_activation(c.hidden_act);
  up.y = b.mlp;
  ops::matmul(stream, up, policy_.matmul);

  ops::MatmulArgs down;
  down.x = b.mlp;
  down.M = rows;
  down.weight = &w.mlp_down;
  down.bias = optional_view(w.mlp_down_bias);
  if (rank0) down.residual = b.hidden;
  down.y = b.hidden;
  ops::matmul(stream, down, policy_.matmul);
  collectives_.all_reduce(stream, b.hidden.buffer, 0, rows * b.hidden.cols);
  layer_norm(w.mlp_norm_gain, w.mlp_norm_bias);
}

}  // namespace vkinfer
