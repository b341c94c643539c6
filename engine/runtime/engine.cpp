// Engine: the step loop's device side (forward, per-sequence sampling).
#include "engine/runtime/engine.h"

#include <algorithm>
#include <chrono>

#include "engine/core/error.h"
#include "engine/vk/device.h"

namespace vkinfer {

Engine::Engine(Decoder& decoder) : decoder_(decoder), cache_(decoder.make_cache()) {
  vk::Device& device = decoder.device();
  const int64_t slots = cache_.slots();
  const int world = decoder.comm().world();
  for (int64_t s = 0; s < slots; ++s) {
    samplers_.push_back(ops::SamplerBuffers::create(device, 1, decoder.config().vocab_size));
    if (world > 1) {
      gathered_candidates_.push_back(vk::Buffer::create(
          device, world * SAMPLING_MAX_CANDIDATES * sizeof(params::SampleCandidate), vk::MemoryKind::kDevice));
      gathered_stats_.push_back(
          vk::Buffer::create(device, world * sizeof(params::SampleStats), vk::MemoryKind::kDevice));
    }
  }
  batch_.ids.reserve(max_rows());
  batch_.sequences.reserve(slots);
  warm_up();
}

void Engine::warm_up() {
  // Everything a request could need is built here, at load, and the device
  // is then sealed, so no request pays for compilation (drivers such as
  // lavapipe JIT at first dispatch) and none can create a pipeline: first
  // every forward row class (Decoder::prepare_pipelines), then one greedy
  // step, whose sampling kernels serve any sampling parameters (their
  // shapes and options are push constants). The borrowed slots are given
  // back empty; their contents are overwritten before any later owner reads them.
  vk::Device& device = decoder_.device();
  vk::Device::LoadScope loading(device);
  const auto start = std::chrono::steady_clock::now();
  const uint64_t created_before = device.pipelines_created();
  decoder_.prepare_pipelines(cache_);
  vk::CommandStream stream(device);
  Sequence sequence;
  sequence.prompt.assign(1, 0);
  sequence.slot = cache_.acquire();
  step(stream, {{&sequence, 1}});
  cache_.release(sequence.slot);
  device.seal();
  pipelines_built_ = device.pipelines_created() - created_before;
  pipeline_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<int32_t> Engine::step(vk::CommandStream& stream, const std::vector<ScheduledRows>& plan,
                                  bool all_logits) {
  if (plan.empty()) fail(ErrorCode::kInternal, "engine: an empty step");
  StepBatch& batch = batch_;
  batch.ids.clear();
  batch.sequences.clear();
  batch.all_logits = all_logits;
  std::vector<Sequence*> sampled;
  std::vector<int64_t> logit_rows;
  int64_t row_end = 0;
  for (const ScheduledRows& entry : plan) {
    Sequence& s = *entry.sequence;
    if (s.slot < 0 || s.fed != cache_.length(s.slot))
      fail(ErrorCode::kInternal, "engine: sequence at slot {} has {} tokens fed, its slot {}", s.slot,
           s.fed, s.slot < 0 ? -1 : cache_.length(s.slot));
    // A new sequence's repetition penalty starts from its prompt.
    if (s.fed == 0) samplers_[s.slot].seed_seen_bitmap(stream, {s.prompt});
    for (int64_t t = 0; t < entry.rows; ++t) {
      const int64_t index = s.fed + t;
      const int64_t generated = index - s.prompt_length();
      if (generated >= static_cast<int64_t>(s.generated.size()))
        fail(ErrorCode::kInternal, "engine: sequence at slot {} has no token {} to feed", s.slot, index);
      batch.ids.push_back(generated < 0 ? s.prompt[index] : s.generated[generated]);
    }
    // The length transformers' forward sees: the whole prompt during its
    // prefill chunks, then the positions so far; plus the emulated batch's
    // padding.
    const int64_t rope_length = std::max(s.prompt_length(), s.fed + entry.rows) + s.rope_extra;
    batch.sequences.push_back({s.slot, entry.rows, rope_length});
    row_end += entry.rows;
    s.fed += entry.rows;
    if (!s.prefilling()) {
      sampled.push_back(&s);
      logit_rows.push_back(all_logits ? row_end - 1 : static_cast<int64_t>(batch.sequences.size()) - 1);
    }
  }
  decoder_.forward(stream, cache_, batch);
  sample(stream, sampled, logit_rows);
  std::vector<int32_t> tokens;
  for (const ScheduledRows& entry : plan) {
    const Sequence& s = *entry.sequence;
    tokens.push_back(s.prefilling() ? -1 : static_cast<int32_t>(samplers_[s.slot].read_ids(1)[0]));
  }
  return tokens;
}

void Engine::sample(vk::CommandStream& stream, const std::vector<Sequence*>& sequences,
                    const std::vector<int64_t>& logit_rows) {
  const RankShape& shape = decoder_.shape();
  const ops::ReducePolicy& policy = decoder_.policy().reduce;
  Communicator& comm = decoder_.comm();
  const ops::View logits(decoder_.logits());
  if (sequences.empty()) {  // only prefill chunks short of their prompts' ends
    stream.finish();
    return;
  }
  // One row per dispatch: the row is each sequence's own (row 0 of its
  // sampler), so the random numbers depend only on its seed and step.
  if (comm.world() == 1) {
    for (size_t i = 0; i < sequences.size(); ++i) {
      const Sequence& s = *sequences[i];
      ops::sample(stream, logits.at_row(logit_rows[i]), 1, s.sampling,
                  static_cast<uint32_t>(s.generated.size()), samplers_[s.slot], policy);
    }
    stream.finish();
    return;
  }
  // Each rank reduces its vocabulary slice to C candidates per sequence;
  // only those (and max/sum-exp) are exchanged, in one all_gather per step.
  const int64_t vocab = decoder_.config().vocab_size;
  for (size_t i = 0; i < sequences.size(); ++i) {
    const Sequence& s = *sequences[i];
    ops::sample_candidates(stream, logits.at_row(logit_rows[i]), 1, shape.vocab_begin, shape.vocab_valid,
                           s.sampling, static_cast<uint32_t>(s.generated.size()), samplers_[s.slot], policy);
  }
  stream.finish();
  vk::Device& device = decoder_.device();
  const size_t stats_bytes = sizeof(params::SampleStats);
  auto candidate_bytes = [&](const Sequence& s) {
    return ops::candidate_count(s.sampling, vocab) * sizeof(params::SampleCandidate);
  };
  size_t local_bytes = 0;
  for (const Sequence* s : sequences) local_bytes += candidate_bytes(*s) + stats_bytes;
  exchange_.resize(local_bytes);
  size_t at = 0;
  for (const Sequence* s : sequences) {
    device.download(samplers_[s->slot].candidates, 0, exchange_.data() + at, candidate_bytes(*s));
    at += candidate_bytes(*s);
    device.download(samplers_[s->slot].stats, 0, exchange_.data() + at, stats_bytes);
    at += stats_bytes;
  }
  exchanged_.resize(local_bytes * comm.world());
  comm.all_gather(exchange_.data(), local_bytes, exchanged_.data());
  at = 0;
  for (const Sequence* s : sequences) {
    const size_t bytes = candidate_bytes(*s);
    for (int r = 0; r < comm.world(); ++r) {
      const uint8_t* part = exchanged_.data() + r * local_bytes + at;
      device.upload(gathered_candidates_[s->slot], r * bytes, part, bytes);
      device.upload(gathered_stats_[s->slot], r * stats_bytes, part + bytes, stats_bytes);
    }
    at += bytes + stats_bytes;
  }
  for (const Sequence* s : sequences)
    ops::sample_finish(stream, gathered_candidates_[s->slot], gathered_stats_[s->slot], comm.world(), 1,
                       s->sampling, static_cast<uint32_t>(s->generated.size()), samplers_[s->slot], policy);
  stream.finish();
}

}  // namespace vkinfer
