// Decoder: buffers sized at load for a step of up to batch x max_rows_per_seq
// rows, and the straight-line forward over a packed step batch.
#include "engine/model/decoder.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "engine/core/error.h"
#include "engine/model/graph_util.h"
#include "engine/ops/attention.h"
#include "engine/ops/embedding.h"
#include "engine/ops/matmul.h"
#include "engine/ops/norm.h"
#include "engine/ops/rotary.h"
#include "engine/vk/device.h"

namespace vkinfer {
namespace {

int64_t embed_dim(const DecoderConfig& c) {
  return c.word_embed_proj_dim ? c.word_embed_proj_dim : c.hidden_size;
}

// Rows x cols of the widest weight of one layer on this rank (the kernel
// policy fits its GEMM tiles to it).
int64_t largest_layer_weight(const DecoderConfig& c, const RankShape& s) {
  const int64_t H = c.hidden_size, D = c.head_dim;
  return std::max({H * (s.heads + 2 * s.kv_heads) * D, H * s.heads * D, H * s.intermediate});
}

}  // namespace

uint64_t decoder_runtime_bytes(const DecoderConfig& c, const RankShape& s, const DecoderLimits& l,
                               const StageRange& stage) {
  const uint64_t rows = l.max_rows();
  const uint64_t logit_rows = l.all_logits ? rows : l.batch;
  const uint64_t cache = KvCache::bytes(stage.layers(), l.batch, s.kv_heads, l.ctx, c.head_dim, l.kv_tokens);
  const uint64_t activations =
      rows * (4 * c.hidden_size + embed_dim(c) + (s.heads + 2 * s.kv_heads) * c.head_dim +
              s.heads * c.head_dim + s.intermediate + 1 + ops::kAttentionRowWords) * 4 +
      (stage.has_head ? logit_rows * (c.hidden_size + embed_dim(c) + s.vocab_local) * 4 : 0);
  // LayerNorm's weight sums for norms finished inside matmuls (decode).
  uint64_t norm_sums = 0;
  if (c.pre_norm && c.norm == NormKind::kLayerNorm)
    norm_sums = 4ull * (stage.layers() * (2 * (s.heads + 2 * s.kv_heads) * c.head_dim +
                                        (c.gated_mlp ? 4 : 2) * s.intermediate) +
                        2 * s.vocab_local);
  // The GEMM attention path runs for steps of one sequence.
  return cache + activations + norm_sums +
         ops::attention_scores_bytes(1, s.heads, l.max_rows_per_seq, l.ctx);
}

Decoder::Decoder(vk::Device& device, Communicator& comm, const DecoderConfig& config,
                 RankShape shape, DecoderWeights weights, DecoderLimits limits, StageRange stage)
    : device_(device), comm_(comm), config_(config), shape_(shape), weights_(std::move(weights)),
      limits_(limits), stage_(stage), policy_(ops::choose_policy(device.info(), largest_layer_weight(config, shape))),
      collectives_(device, comm, uint64_t(limits.max_rows()) *
                                     std::max(config.hidden_size, embed_dim(config)) * 4) {
  const int64_t R = limits.max_rows();
  // Loading may create pipelines (norm sums) even on a device an earlier
  // model sealed.
  vk::Device::LoadScope loading(device);
  const int64_t H = config.hidden_size, D = config.head_dim;
  hidden_ = Tensor::create(device, R, H);
  if (config.parallel_residual) hidden_alt_ = Tensor::create(device, R, H);
  normed_ = Tensor::create(device, R, H);
  if (config.parallel_residual && config.arch == Arch::kGptNeoX) normed_mlp_ = Tensor::create(device, R, H);
  if (config.word_embed_proj_dim) embedded_ = Tensor::create(device, R, embed_dim(config));
  qkv_ = Tensor::create(device, R, (shape.heads + 2 * shape.kv_heads) * D);
  attn_ = Tensor::create(device, R, shape.heads * D);
  mlp_ = Tensor::create(device, R, shape.intermediate);
  const int64_t logit_rows = limits.all_logits ? R : limits.batch;
  if (stage.has_head) {
    last_ = Tensor::create(device, logit_rows, H);
    if (config.word_embed_proj_dim) last_proj_ = Tensor::create(device, logit_rows, embed_dim(config));
    logits_ = Tensor::create(device, logit_rows, shape.vocab_local);
  }
  ids_ = vk::Buffer::create(device, R * 4, vk::MemoryKind::kDevice);
  if (config.learned_positions) position_rows_ = vk::Buffer::create(device, R * 4, vk::MemoryKind::kDevice);
  row_table_ = vk::Buffer::create(device, R * sizeof(ops::AttentionRow), vk::MemoryKind::kDevice);
  rows_host_.reserve(R);
  position_rows_host_.reserve(R);
  if (uint64_t bytes = ops::attention_scores_bytes(1, shape.heads, limits.max_rows_per_seq, limits.ctx))
    scores_ = vk::Buffer::create(device, bytes, vk::MemoryKind::kDevice);
  prepare_input_norms();
}

// Every pipeline a forward can pick is built here, at load, by running one
// forward per row class: row counts that pick different kernels (the
// matmul's GEMV rows or tile height, the blocked attention of a one-sequence
// step, the packed attention of a mixed step, fused norms) come from the
// ops' own choice functions, so this list cannot drift from what forward()
// dispatches. Running real forwards, rather than creating pipelines from a
// list, also makes drivers that compile at first dispatch (lavapipe JITs
// with LLVM, keyed on the bound texel formats) compile here.
void Decoder::prepare_pipelines(KvCache& cache) {
  vk::Device::LoadScope loading(device_);
  const auto start = std::chrono::steady_clock::now();
  const uint64_t created_before = device_.pipelines_created();
  const DecoderConfig& c = config_;
  const int64_t H = c.hidden_size;
  const std::vector<int64_t> widths = {H, embed_dim(c), shape_.heads * c.head_dim, shape_.intermediate};
  const ops::MatmulPolicy& mp = policy_.matmul;
  const int64_t longest = std::min(limits_.max_rows_per_seq, limits_.ctx);
  // Candidate steps, the same list on every rank: one sequence of T rows,
  // then (with two or more slots) mixed steps of every total R a step can
  // hold: chunks of at most `longest` rows over as few sequences as fit.
  std::vector<std::vector<int64_t>> candidates;
  for (int64_t T = 1; T <= longest; ++T) candidates.push_back({T});
  if (cache.slots() >= 2)
    for (int64_t R = 2; R <= limits_.max_rows(); ++R) {
      std::vector<int64_t> step{std::min(R - 1, longest)};
      for (int64_t left = R - step[0]; left > 0; left -= step.back())
        step.push_back(std::min(left, longest));
      if (static_cast<int64_t>(step.size()) <= cache.slots()) candidates.push_back(std::move(step));
    }
  std::set<std::vector<int64_t>> classes;
  std::vector<uint8_t> representative(candidates.size(), 0);
  for (size_t i = 0; i < candidates.size(); ++i) {
    const std::vector<int64_t>& step = candidates[i];
    int64_t rows = 0;
    for (int64_t r : step) rows += r;
    std::vector<int64_t> key;
    for (int64_t K : widths) key.push_back(ops::matmul_row_class(rows, K, mp));
    key.push_back(step.size() == 1 ? ops::attention_row_class(rows, policy_.reduce) : -1);
    key.push_back(fuse_norms_ && rows <= mp.norm_fuse_max_m);
    key.push_back((rows - 1) * H % 4);  // the last row's offset: texel-aligned or not
    if (classes.insert(key).second) representative[i] = 1;
  }
  // Ranks hold different widths (uneven head or MLP splits), so their lists
  // may differ; every rank runs the union, since forwards meet in all-reduces.
  if (comm_.world() > 1) {
    std::vector<uint8_t> all(representative.size() * comm_.world());
    comm_.all_gather(representative.data(), representative.size(), all.data());
    for (size_t i = 0; i < all.size(); ++i) representative[i % representative.size()] |= all[i];
  }
  vk::CommandStream stream(device_);
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (!representative[i]) continue;
    for (bool all_rows : {false, true}) {
      if (all_rows && !limits_.all_logits) continue;
      // Garbage in, garbage out: the slots are given back empty, and every
      // later owner writes a position before reading it.
      StepBatch step;
      step.all_logits = all_rows;
      for (int64_t rows : candidates[i]) {
        const int slot = cache.acquire(rows);
        if (slot < 0) fail(ErrorCode::kInternal, "decoder: no free KV slot or pages to prepare pipelines");
        step.sequences.push_back({slot, rows, 0});
        step.ids.insert(step.ids.end(), rows, 0);
      }
      forward(stream, cache, step);
      stream.finish();
      for (const StepSequence& seq : step.sequences) cache.release(seq.slot);
    }
  }
  pipelines_built_ = device_.pipelines_created() - created_before;
  pipeline_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void Decoder::prepare_input_norms() {
  const DecoderConfig& c = config_;
  fuse_norms_ = c.pre_norm && policy_.matmul.norm_fuse_max_m > 0;
  if (!fuse_norms_) return;
  vk::CommandStream stream(device_);
  auto input_norm = [&](const Tensor& gain, const Tensor& bias, const Weight& weight,
                        const Weight* weight_up) {
    ops::InputNorm norm;
    norm.gamma = gain;
    norm.eps = static_cast<float>(c.norm_eps);
    norm.rms = c.norm == NormKind::kRmsNorm;
    if (norm.rms) return norm;
    Tensor& sums = norm_sums_.emplace_back(Tensor::create(device_, weight_up ? 4 : 2, weight.rows));
    ops::norm_sums(stream, weight, weight_up, gain, bias.rows == 0 ? ops::View() : ops::View(bias),
                   sums, policy_.matmul);
    norm.sums = sums;
    return norm;
  };
  for (const DecoderLayerWeights& w : weights_.layers) {
    attn_input_norms_.push_back(input_norm(w.attn_norm_gain, w.attn_norm_bias, w.qkv, nullptr));
    // GPT-J's MLP reads the attention's norm; the others have their own.
    const bool shared = c.parallel_residual && c.arch != Arch::kGptNeoX;
    const Weight& up = c.gated_mlp ? w.mlp_gate : w.mlp_up;
    const Weight* up2 = c.gated_mlp ? &w.mlp_up : nullptr;
    mlp_input_norms_.push_back(shared ? input_norm(w.attn_norm_gain, w.attn_norm_bias, up, up2)
                                      : input_norm(w.mlp_norm_gain, w.mlp_norm_bias, up, up2));
  }
  // OPT's project_out sits between the final norm and the LM head.
  fuse_head_norm_ = stage_.has_head && c.final_norm && !c.word_embed_proj_dim;
  if (fuse_head_norm_)
    head_input_norm_ = input_norm(weights_.final_norm_gain, weights_.final_norm_bias,
                                  weights_.lm_head(), nullptr);
  stream.finish();
}

KvCache Decoder::make_cache() const {
  return KvCache(device_, stage_.layers(), limits_.batch, shape_.kv_heads, limits_.ctx,
                 config_.head_dim, limits_.kv_tokens);
}

void Decoder::set_inputs(KvCache& cache, const StepBatch& step) {
  const int64_t rows = static_cast<int64_t>(step.ids.size());
  if (rows == 0 || rows > limits_.max_rows() || step.sequences.empty() ||
      static_cast<int64_t>(step.sequences.size()) > limits_.batch)
    fail(ErrorCode::kInternal, "decoder step: {} rows of {} sequences do not fit {} x {}", rows,
         step.sequences.size(), limits_.batch, limits_.max_rows_per_seq);
  if (step.all_logits && !limits_.all_logits)
    fail(ErrorCode::kInternal, "all-row logits were not planned for");
  if (cache.slots() != limits_.batch || cache.ctx() != limits_.ctx || cache.kv_heads() != shape_.kv_heads)
    fail(ErrorCode::kInternal, "KV cache of {} slots x {} positions does not match the decoder's {} x {}",
         cache.slots(), cache.ctx(), limits_.batch, limits_.ctx);
  for (int32_t id : step.ids)
    if (id < 0 || id >= config_.vocab_size)
      fail(ErrorCode::kInvalidArgument, "token id {} is outside the vocabulary [0, {})", id,
           config_.vocab_size);
  rows_host_.assign(rows, ops::AttentionRow());
  position_rows_host_.resize(rows);
  std::vector<bool> slot_seen(limits_.batch, false);
  int64_t row = 0;
  for (const StepSequence& seq : step.sequences) {
    const int64_t start = cache.length(seq.slot);  // throws for a slot nobody holds
    if (seq.rows < 1 || row + seq.rows > rows || slot_seen[seq.slot])
      fail(ErrorCode::kInternal, "decoder step: sequence at slot {} with {} rows does not fit", seq.slot,
           seq.rows);
    slot_seen[seq.slot] = true;
    if (start + seq.rows > limits_.ctx)
      fail(ErrorCode::kInvalidArgument, "{} positions exceed the context of {}. HINT: raise --ctx",
           start + seq.rows, limits_.ctx);
    // The kernels write through the page table: never past the slot's pages.
    if (start + seq.rows > cache.capacity(seq.slot))
      fail(ErrorCode::kInternal, "decoder step: slot {} writes {} positions of the {} it reserved",
           seq.slot, start + seq.rows, cache.capacity(seq.slot));
    // Each sequence's rotary base comes from its own length.
    float hi = 0, lo = 0;
    if (config_.rotary != RotaryStyle::kNone)
      ops::split_log2_theta(rope_base(config_, seq.rope_length > 0 ? seq.rope_length : start + seq.rows),
                            hi, lo);
    for (int64_t t = 0; t < seq.rows; ++t, ++row) {
      const int64_t position = start + t;
      ops::AttentionRow& entry = rows_host_[row];
      // Sliding window: keys more than `sliding_window` positions back are hidden.
      entry.key_begin = config_.sliding_window > 0 && position > config_.sliding_window
                            ? static_cast<uint32_t>(position - config_.sliding_window)
                            : 0u;
      entry.key_end = static_cast<uint32_t>(position + 1);
      entry.slot = static_cast<uint32_t>(seq.slot);
      entry.fresh_begin = static_cast<uint32_t>(start);
      entry.position = static_cast<uint32_t>(position);
      entry.log2_theta_hi = hi;
      entry.log2_theta_lo = lo;
      position_rows_host_[row] = static_cast<int32_t>(position + config_.position_offset);
    }
  }
  if (row != rows)
    fail(ErrorCode::kInternal, "decoder step: {} ids for {} sequence rows", rows, row);
  single_slot_ = step.sequences.size() == 1 ? step.sequences[0].slot : -1;
  single_past_ = step.sequences.size() == 1 ? cache.length(single_slot_) : 0;
  cache.sync_page_table();
  device_.upload(ids_, 0, step.ids.data(), rows * 4);
  device_.upload(row_table_, 0, rows_host_.data(), rows_host_.size() * sizeof(ops::AttentionRow));
  if (config_.learned_positions) device_.upload(position_rows_, 0, position_rows_host_.data(), rows * 4);
}

void Decoder::forward(vk::CommandStream& stream, KvCache& cache, const StepBatch& step) {
  set_inputs(cache, step);
  const int64_t rows = static_cast<int64_t>(step.ids.size());
  if (stage_.has_embedding) embed(stream, rows);
  for (size_t i = 0; i < weights_.layers.size(); ++i) layer(stream, cache, i, rows);
  for (const StepSequence& seq : step.sequences) cache.advance(seq.slot, seq.rows);
  if (stage_.has_head) head(stream, step);
}

void Decoder::embed(vk::CommandStream& stream, int64_t rows) {
  const DecoderConfig& c = config_;
  // Token embedding: vocab-parallel partial rows, summed across ranks.
  const Tensor& embed_out = c.word_embed_proj_dim ? embedded_ : hidden_;
  ops::EmbeddingArgs embed;
  embed.table = &weights_.embed;
  embed.ids = ops::View(ids_, 0, 1);
  embed.M = rows;
  embed.y = embed_out;
  embed.row_offset = shape_.vocab_begin;
  embed.scale = c.embed_scale;  // Gemma: sqrt(hidden); other ranks' zeros stay zero
  ops::embedding(stream, embed);
  collectives_.all_reduce(stream, embed_out.buffer, 0, rows * embed_out.cols);
  if (c.word_embed_proj_dim) {
    ops::MatmulArgs project;
    project.x = embedded_;
    project.M = rows;
    project.weight = &weights_.project_in;
    project.y = hidden_;
    ops::matmul(stream, project, policy_.matmul);
  }
  if (c.learned_positions) {
    ops::EmbeddingArgs pos;
    pos.table = &weights_.positions;
    pos.ids = ops::View(position_rows_, 0, 1);
    pos.M = rows;
    pos.y = hidden_;
    pos.accumulate = true;
    ops::embedding(stream, pos);
  }
}

void Decoder::head(vk::CommandStream& stream, const StepBatch& step) {
  const DecoderConfig& c = config_;
  const int64_t rows = static_cast<int64_t>(step.ids.size());
  const int64_t B = static_cast<int64_t>(step.sequences.size());
  // Final norm and LM head over the rows that need logits.
  // Sequences of equal length (decode steps, one sequence) read their last
  // rows through a strided view; mixed lengths gather them into last_.
  const bool all_rows = step.all_logits;
  const int64_t out_rows = all_rows ? rows : B;
  const int64_t T = step.sequences[0].rows;
  const bool uniform = std::all_of(step.sequences.begin(), step.sequences.end(),
                                   [&](const StepSequence& s) { return s.rows == T; });
  ops::View source = ops::View(hidden_);
  if (!all_rows && uniform) {
    source = ops::View(hidden_.buffer, uint32_t((T - 1) * c.hidden_size), uint32_t(T * c.hidden_size));
  } else if (!all_rows) {
    const uint64_t row_bytes = c.hidden_size * 4;
    int64_t end = 0;
    for (int64_t b = 0; b < B; ++b) {
      end += step.sequences[b].rows;
      stream.copy(hidden_.buffer, (end - 1) * row_bytes, last_.buffer, b * row_bytes, row_bytes);
    }
    source = ops::View(last_);
  }
  ops::View head_input = source;
  const bool fuse_head_norm = fuse_head_norm_ && out_rows <= policy_.matmul.norm_fuse_max_m;
  if (c.final_norm && !fuse_head_norm) {
    ops::NormArgs norm;
    norm.x = source;
    norm.gamma = weights_.final_norm_gain;
    norm.beta = optional_view(weights_.final_norm_bias);
    norm.y = last_;
    norm.M = out_rows;
    norm.N = c.hidden_size;
    norm.eps = static_cast<float>(c.norm_eps);
    norm.rms = c.norm == NormKind::kRmsNorm;
    ops::norm(stream, norm, policy_.reduce);
    head_input = last_;
  }
  if (c.word_embed_proj_dim) {
    ops::MatmulArgs project;
    project.x = head_input;
    project.M = out_rows;
    project.weight = &weights_.project_out;
    project.y = last_proj_;
    ops::matmul(stream, project, policy_.matmul);
    head_input = last_proj_;
  }
  ops::MatmulArgs head;
  head.x = head_input;
  head.M = out_rows;
  head.weight = &weights_.lm_head();
  head.bias = optional_view(weights_.lm_head_bias);
  if (fuse_head_norm) head.input_norm = &head_input_norm_;
  head.y = logits_;
  ops::matmul(stream, head, policy_.matmul);
}

void Decoder::layer(vk::CommandStream& stream, KvCache& cache, size_t index, int64_t rows) {
  const DecoderConfig& c = config_;
  const DecoderLayerWeights& w = weights_.layers[index];
  const int64_t H = c.hidden_size, D = c.head_dim;
  const bool rank0 = comm_.rank() == 0;
  const bool rms = c.norm == NormKind::kRmsNorm;
  const float eps = static_cast<float>(c.norm_eps);
  auto norm = [&](const Tensor& x, const Tensor& gain, const Tensor& bias, const Tensor& y) {
    ops::NormArgs args;
    args.x = x;
    args.gamma = gain;
    args.beta = optional_view(bias);
    args.y = y;
    args.M = rows;
    args.N = H;
    args.eps = eps;
    args.rms = rms;
    ops::norm(stream, args, policy_.reduce);
  };

  // Attention input. Decode steps finish pre-norms inside the matmuls that
  // read them, which then read the residual stream itself.
  const bool fused_norms = fuse_norms_ && rows <= policy_.matmul.norm_fuse_max_m;
  const Tensor* attn_input = &hidden_;
  if (c.pre_norm && !fused_norms) {
    norm(hidden_, w.attn_norm_gain, w.attn_norm_bias, normed_);
    attn_input = &normed_;
  }
  const bool neox_parallel = c.parallel_residual && c.arch == Arch::kGptNeoX;
  if (neox_parallel && !fused_norms) norm(hidden_, w.mlp_norm_gain, w.mlp_norm_bias, normed_mlp_);

  ops::MatmulArgs qkv;
  qkv.x = *attn_input;
  if (fused_norms) qkv.input_norm = &attn_input_norms_[index];
  qkv.M = rows;
  qkv.weight = &w.qkv;
  qkv.bias = optional_view(w.qkv_bias);
  qkv.y = qkv_;
  ops::matmul(stream, qkv, policy_.matmul);

  const uint32_t qkv_width = static_cast<uint32_t>(qkv_.cols);
  if (c.rotary != RotaryStyle::kNone) {
    ops::RotaryArgs rotary;
    rotary.x = ops::View(qkv_.buffer, 0, qkv_width);
    rotary.M = rows;
    rotary.num_heads = static_cast<int>(shape_.heads + shape_.kv_heads);
    rotary.head_dim = static_cast<int>(D);
    rotary.rotary_dim = static_cast<int>(c.rotary_dim);
    rotary.interleaved = c.rotary == RotaryStyle::kInterleaved;
    rotary.row_theta = true;  // each sequence's own base, in the row table
    if (c.rope_scaling == RopeScaling::kLinear)
      rotary.position_divisor = static_cast<float>(c.rope_scaling_factor);
    if (c.rope_scaling == RopeScaling::kLlama3)
      rotary.llama3 = {static_cast<float>(c.rope_scaling_factor), static_cast<float>(c.rope_low_freq_factor),
                       static_cast<float>(c.rope_high_freq_factor),
                       static_cast<float>(c.rope_original_max_positions)};
    rotary.positions = ops::View(row_table_, ops::kAttentionRowPosition, ops::kAttentionRowWords);
    ops::rotary(stream, rotary);
  }
  ops::AttentionArgs attention;
  attention.q = ops::View(qkv_.buffer, 0, qkv_width);
  attention.out = attn_;
  attention.kv = cache.layout(index);
  attention.row_table = &row_table_;
  attention.single_slot = single_slot_;
  attention.single_past = single_past_;
  attention.batch = 1;
  attention.rows_per_seq = rows;
  attention.num_heads = shape_.heads;
  attention.num_kv_heads = shape_.kv_heads;
  attention.head_dim = D;
  attention.causal = true;
  attention.window = c.sliding_window;
  attention.scale = c.scale_attn_weights ? 1.0f / std::sqrt(static_cast<float>(D)) : 1.0f;
  // By the layer's index in the whole model, not in this stage.
  if (c.scale_attn_by_layer) attention.scale /= static_cast<float>(stage_.first_layer + index + 1);
  if (scores_.valid()) attention.scores = &scores_;
  // This step's keys and values go into the cache inside the op.
  attention.fresh = ops::View(qkv_.buffer, uint32_t(shape_.heads * D), qkv_width);
  attention.fresh_v_delta = static_cast<uint32_t>(shape_.kv_heads * D);
  ops::attention(stream, attention, policy_.reduce);

  // Attention output projection: row-parallel; rank 0 adds bias and residual.
  const Tensor& attn_sum = c.parallel_residual ? hidden_alt_ : hidden_;
  ops::MatmulArgs out;
  out.x = attn_;
  out.M = rows;
  out.weight = &w.attn_out;
  out.bias = optional_view(w.attn_out_bias);
  if (rank0) out.residual = hidden_;
  out.y = attn_sum;
  ops::matmul(stream, out, policy_.matmul);

  const Tensor* mlp_input = &hidden_;
  if (c.parallel_residual) {
    // Both branches read the layer input; one all-reduce covers both.
    if (!fused_norms) mlp_input = neox_parallel ? &normed_mlp_ : &normed_;
  } else {
    collectives_.all_reduce(stream, hidden_.buffer, 0, rows * hidden_.cols);
    if (!c.pre_norm) norm(hidden_, w.attn_norm_gain, w.attn_norm_bias, hidden_);
    if (c.pre_norm && !fused_norms) {
      norm(hidden_, w.mlp_norm_gain, w.mlp_norm_bias, normed_);
      mlp_input = &normed_;
    }
  }

  ops::MatmulArgs up;
  up.x = *mlp_input;
  if (fused_norms) up.input_norm = &mlp_input_norms_[index];
  up.M = rows;
  up.weight = c.gated_mlp ? &w.mlp_gate : &w.mlp_up;
  up.weight_up = c.gated_mlp ? &w.mlp_up : nullptr;
  up.bias = optional_view(w.mlp_up_bias);
  up.act = op_activation(c.activation);
  up.y = mlp_;
  ops::matmul(stream, up, policy_.matmul);

  ops::MatmulArgs down;
  down.x = mlp_;
  down.M = rows;
  down.weight = &w.mlp_down;
  down.bias = optional_view(w.mlp_down_bias);
  if (c.parallel_residual) down.residual = hidden_alt_;
  else if (rank0) down.residual = hidden_;
  down.y = hidden_;
  ops::matmul(stream, down, policy_.matmul);
  collectives_.all_reduce(stream, hidden_.buffer, 0, rows * hidden_.cols);
  if (!c.pre_norm) norm(hidden_, w.mlp_norm_gain, w.mlp_norm_bias, hidden_);
}

}  // namespace vkinfer
