// Engine: the step loop's device side (forward, per-sequence sampling).
#include "engine/runtime/engine.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "engine/core/error.h"
#include "engine/vk/device.h"

namespace vkinfer {

Engine::Engine(Decoder& decoder, StageLinks links)
    : decoder_(decoder), links_(links), cache_(decoder.make_cache()) {
  vk::Device& device = decoder.device();
  const int64_t slots = cache_.slots();
  const int world = decoder.comm().world();
  const StageRange& stage = decoder.stage();
  if (links_.microbatches < 1)
    fail(ErrorCode::kInvalidArgument, "--microbatches must be >= 1 (got {})", links_.microbatches);
  if (pipelined()) {
    const int index = links_.pp->rank(), stages = links_.pp->world();
    if (stage.has_embedding != (index == 0) || stage.has_head != (index == stages - 1))
      fail(ErrorCode::kInternal, "engine: stage {} of {} holds layers [{}, {}){}{}", index, stages,
           stage.first_layer, stage.end_layer, stage.has_embedding ? " and the embedding" : "",
           stage.has_head ? " and the head" : "");
    stage_links_ = std::make_unique<DeviceCollectives>(
        device, *links_.pp, uint64_t(decoder.limits().max_rows()) * decoder.config().hidden_size * 4);
  } else if (!stage.has_embedding || !stage.has_head) {
    fail(ErrorCode::kInternal, "engine: a partial stage needs its pipeline group");
  }
  // Only the last stage samples.
  for (int64_t s = 0; stage.has_head && s < slots; ++s) {
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
  // Logprob records are filled in place, so steps never allocate for them.
  logprobs_.reserve(slots);
  slot_logprobs_.resize(slots);
  logprob_candidates_.resize(size_t(world) * SAMPLING_MAX_LOGPROBS);
  logprob_stats_.resize(world);
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
  sequence.slot = cache_.acquire(1);
  step(stream, {{&sequence, 1}});
  cache_.release(sequence.slot);
  device.seal();
  pipelines_built_ = device.pipelines_created() - created_before;
  pipeline_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<int32_t> Engine::step(vk::CommandStream& stream, const std::vector<ScheduledRows>& plan,
                                  bool all_logits) {
  if (plan.empty()) fail(ErrorCode::kInternal, "engine: an empty step");
  std::vector<int32_t> tokens(plan.size(), -1);
  logprobs_.assign(plan.size(), ops::TokenLogprobs{});
  // Microbatches: contiguous runs of the plan's sequences, as even as the
  // count allows (a one-sequence step is one microbatch).
  const size_t count = std::min<size_t>(pipelined() ? links_.microbatches : 1, plan.size());
  for (size_t m = 0; m < count; ++m)
    run_microbatch(stream, plan, plan.size() * m / count, plan.size() * (m + 1) / count, all_logits,
                   static_cast<int>(m), tokens);
  if (pipelined()) {  // the last stage sampled; every stage feeds the same tokens next
    links_.pp->broadcast(tokens.data(), tokens.size() * sizeof(int32_t), links_.pp->world() - 1);
    // Every stage knows which sequences asked (the same plan), so all take
    // part in this broadcast or none does.
    if (std::any_of(plan.begin(), plan.end(), [](const ScheduledRows& e) { return e.sequence->logprobs >= 0; }))
      links_.pp->broadcast(logprobs_.data(), logprobs_.size() * sizeof(ops::TokenLogprobs), links_.pp->world() - 1);
  }
  return tokens;
}

void Engine::run_microbatch(vk::CommandStream& stream, const std::vector<ScheduledRows>& plan,
                            size_t begin, size_t end, bool all_logits, int tag,
                            std::vector<int32_t>& tokens) {
  const StageRange& stage = decoder_.stage();
  StepBatch& batch = batch_;
  batch.ids.clear();
  batch.sequences.clear();
  batch.all_logits = all_logits;
  std::vector<Sequence*> sampled;
  std::vector<int64_t> logit_rows;
  int64_t row_end = 0;
  for (size_t k = begin; k < end; ++k) {
    const ScheduledRows& entry = plan[k];
    Sequence& s = *entry.sequence;
    if (s.slot < 0 || s.fed != cache_.length(s.slot))
      fail(ErrorCode::kInternal, "engine: sequence at slot {} has {} tokens fed, its slot {}", s.slot,
           s.fed, s.slot < 0 ? -1 : cache_.length(s.slot));
    // A new sequence's repetition penalty starts from its prompt.
    if (s.fed == 0 && stage.has_head) samplers_[s.slot].seed_seen_bitmap(stream, {s.prompt});
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
  const int stage_index = pipelined() ? links_.pp->rank() : 0;
  const uint64_t hidden_bytes = uint64_t(row_end) * decoder_.config().hidden_size * 4;
  if (!stage.has_embedding)
    stage_links_->recv(stream, decoder_.hidden().buffer, 0, hidden_bytes, stage_index - 1, tag);
  decoder_.forward(stream, cache_, batch);
  if (!stage.has_head) {
    stage_links_->send(stream, decoder_.hidden().buffer, 0, hidden_bytes, stage_index + 1, tag);
    return;
  }
  sample(stream, sampled, logit_rows);
  sample_logprobs(stream, sampled, logit_rows);
  for (size_t k = begin; k < end; ++k) {
    const Sequence& s = *plan[k].sequence;
    if (s.prefilling()) continue;
    tokens[k] = static_cast<int32_t>(samplers_[s.slot].read_ids(1)[0]);
    if (s.logprobs >= 0) logprobs_[k] = slot_logprobs_[s.slot];
  }
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

void Engine::sample_logprobs(vk::CommandStream& stream, const std::vector<Sequence*>& sequences,
                             const std::vector<int64_t>& logit_rows) {
  if (std::none_of(sequences.begin(), sequences.end(), [](const Sequence* s) { return s->logprobs >= 0; }))
    return;
  const RankShape& shape = decoder_.shape();
  Communicator& comm = decoder_.comm();
  const ops::View logits(decoder_.logits());
  // After sample(): out_ids holds each sequence's token, which the pass
  // looks up in the raw logits. The slice is the one sample() reduced, so
  // the pass runs the pipeline the warm-up built.
  const bool whole = comm.world() == 1;
  const int64_t vocab_begin = whole ? 0 : shape.vocab_begin;
  const int64_t vocab_valid = whole ? decoder_.config().vocab_size : shape.vocab_valid;
  for (size_t i = 0; i < sequences.size(); ++i) {
    const Sequence& s = *sequences[i];
    if (s.logprobs < 0) continue;
    ops::sample_logprobs(stream, logits.at_row(logit_rows[i]), 1, vocab_begin, vocab_valid, s.logprobs,
                         samplers_[s.slot], decoder_.policy().reduce);
  }
  stream.finish();
  const size_t stats_bytes = sizeof(params::SampleStats);
  auto candidate_bytes = [](const Sequence& s) {
    return ops::logprob_slots(s.logprobs) * sizeof(params::SampleCandidate);
  };
  if (whole) {
    for (const Sequence* s : sequences) {
      if (s->logprobs < 0) continue;
      const ops::SamplerBuffers& b = samplers_[s->slot];
      slot_logprobs_[s->slot] = ops::merge_logprobs(
          static_cast<const params::SampleCandidate*>(b.logprob_candidates.mapped()),
          static_cast<const params::SampleStats*>(b.logprob_stats.mapped()), 1, s->logprobs);
    }
    return;
  }
  // Each rank's N' candidates and stats per sequence, in one all_gather.
  size_t local_bytes = 0;
  for (const Sequence* s : sequences)
    if (s->logprobs >= 0) local_bytes += candidate_bytes(*s) + stats_bytes;
  exchange_.resize(local_bytes);
  size_t at = 0;
  for (const Sequence* s : sequences) {
    if (s->logprobs < 0) continue;
    const ops::SamplerBuffers& b = samplers_[s->slot];
    std::memcpy(exchange_.data() + at, b.logprob_candidates.mapped(), candidate_bytes(*s));
    std::memcpy(exchange_.data() + at + candidate_bytes(*s), b.logprob_stats.mapped(), stats_bytes);
    at += candidate_bytes(*s) + stats_bytes;
  }
  exchanged_.resize(local_bytes * comm.world());
  comm.all_gather(exchange_.data(), local_bytes, exchanged_.data());
  at = 0;
  for (const Sequence* s : sequences) {
    if (s->logprobs < 0) continue;
    const size_t bytes = candidate_bytes(*s);
    for (int r = 0; r < comm.world(); ++r) {
      const uint8_t* part = exchanged_.data() + r * local_bytes + at;
      std::memcpy(logprob_candidates_.data() + r * ops::logprob_slots(s->logprobs), part, bytes);
      std::memcpy(&logprob_stats_[r], part + bytes, stats_bytes);
    }
    slot_logprobs_[s->slot] = ops::merge_logprobs(logprob_candidates_.data(), logprob_stats_.data(),
                                                  comm.world(), s->logprobs);
    at += bytes + stats_bytes;
  }
}

}  // namespace vkinfer
