// CausalLM: requests checked on the caller's thread, then run as jobs on
// every rank of the session; rank 0's results come back.
#include "python/causal_lm.h"

#include <algorithm>
#include <set>

#include "engine/core/error.h"

namespace vkinfer::python {
namespace {

// The forward() slots live in each rank's cache as held slots; generate()
// needs them free (its scheduler acquires its own).
void hold_all(KvCache& cache) {
  if (cache.free_slots() != cache.slots()) return;
  while (cache.acquire() >= 0) {
  }
}

void release_all(KvCache& cache) {
  for (int slot = 0; slot < cache.slots(); ++slot) cache.release(slot);
}

}  // namespace

CausalLM::CausalLM(const SessionOptions& options) : session_(options), lengths_(session_.limits().batch, 0) {}

void CausalLM::check_slot(int slot, const char* what) const {
  if (slot < 0 || slot >= slots())
    fail(ErrorCode::kInvalidArgument, "{} {} is outside the model's {} KV-cache slots. HINT: load it with "
         "batch= at least {}", what, slot, slots(), slot + 1);
}

std::vector<SequenceResult> CausalLM::generate(const std::vector<std::vector<int32_t>>& prompts,
                                               const GenerateOptions& options) {
  validate_request(config(), ctx(), prompts, options);
  std::vector<SequenceResult> results;
  const bool holding = holding_;
  session_.run([&](RankState& rank) {
    if (holding) release_all(rank.engine.cache());
    Generator generator(rank.engine);
    GenerateResult result = generator.run(prompts, options);
    if (rank.lead()) results = std::move(result.sequences);
  });
  holding_ = false;
  std::fill(lengths_.begin(), lengths_.end(), 0);
  return results;
}

std::vector<float> CausalLM::forward(const std::vector<std::vector<int32_t>>& ids, const std::vector<int>& slots,
                                     const std::vector<int64_t>& starts, bool all_logits, int64_t rope_length) {
  if (rope_length < 0) fail(ErrorCode::kInvalidArgument, "forward(): rope_length must be >= 0 (got {})", rope_length);
  const size_t n = ids.size();
  if (n == 0) fail(ErrorCode::kInvalidArgument, "forward() needs at least one row of input ids");
  if (slots.size() != n || starts.size() != n)
    fail(ErrorCode::kInvalidArgument, "forward(): {} rows of ids but {} slots and {} positions", n, slots.size(),
         starts.size());
  std::set<int> seen;
  int64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    check_slot(slots[i], "slot");
    if (!seen.insert(slots[i]).second)
      fail(ErrorCode::kInvalidArgument, "forward(): slot {} appears twice; each row needs its own slot", slots[i]);
    if (ids[i].empty()) fail(ErrorCode::kInvalidArgument, "forward(): row {} has no ids", i);
    for (int32_t id : ids[i])
      if (id < 0 || id >= config().vocab_size)
        fail(ErrorCode::kInvalidArgument, "forward(): row {}: token id {} is outside the vocabulary [0, {})", i, id,
             config().vocab_size);
    const int64_t held = lengths_[slots[i]];
    if (starts[i] < -1 || starts[i] > held)
      fail(ErrorCode::kInvalidArgument, "forward(): row {} starts at position {} but slot {} holds {} positions "
           "(a start rewinds the slot; -1 appends)", i, starts[i], slots[i], held);
    const int64_t begin = starts[i] < 0 ? held : starts[i];
    const int64_t length = static_cast<int64_t>(ids[i].size());
    if (begin + length > ctx())
      fail(ErrorCode::kInvalidArgument, "forward(): row {} would reach position {} but the context holds {}. "
           "HINT: load the model with a larger ctx=", i, begin + length, ctx());
    total += length;
  }

  const int64_t V = config().vocab_size;
  std::vector<float> out((all_logits ? total : static_cast<int64_t>(n)) * V);
  const bool holding = holding_;
  session_.run([&](RankState& rank) {
    KvCache& cache = rank.engine.cache();
    Decoder& decoder = rank.decoder;
    if (!holding) hold_all(cache);
    for (size_t i = 0; i < n; ++i)
      if (starts[i] >= 0) cache.truncate(slots[i], starts[i]);
    const int64_t chunk = decoder.limits().max_rows_per_seq;
    const int64_t vocab_local = decoder.shape().vocab_local;
    const int world = decoder.comm().world();
    std::vector<int64_t> fed(n, 0), first_row(n, 0);
    for (size_t i = 1; i < n; ++i) first_row[i] = first_row[i - 1] + static_cast<int64_t>(ids[i - 1].size());
    std::vector<float> local, gathered;
    while (true) {
      StepBatch batch;
      batch.all_logits = all_logits;
      std::vector<size_t> rows_of;  // step entry -> input row
      for (size_t i = 0; i < n; ++i) {
        const int64_t left = static_cast<int64_t>(ids[i].size()) - fed[i];
        if (left == 0) continue;
        const int64_t take = std::min(left, chunk);
        batch.ids.insert(batch.ids.end(), ids[i].begin() + fed[i], ids[i].begin() + fed[i] + take);
        batch.sequences.push_back({slots[i], take, rope_length});
        rows_of.push_back(i);
      }
      if (batch.sequences.empty()) break;
      decoder.forward(rank.stream, cache, batch);
      rank.stream.finish();
      // This rank's vocabulary slice of the step's logit rows, then every
      // rank's, so that rank 0 can put whole rows together.
      const int64_t rows = all_logits ? static_cast<int64_t>(batch.ids.size())
                                      : static_cast<int64_t>(batch.sequences.size());
      local.resize(rows * vocab_local);
      rank.rank.device.download(decoder.logits().buffer, 0, local.data(), local.size() * sizeof(float));
      const float* slices = local.data();
      if (world > 1) {
        gathered.resize(local.size() * world);
        decoder.comm().all_gather(local.data(), local.size() * sizeof(float), gathered.data());
        slices = gathered.data();
      }
      if (rank.lead()) {
        int64_t step_row = 0;
        for (size_t k = 0; k < batch.sequences.size(); ++k) {
          const size_t i = rows_of[k];
          const int64_t count = all_logits ? batch.sequences[k].rows : 1;
          const int64_t out_row = all_logits ? first_row[i] + fed[i] : static_cast<int64_t>(i);
          for (int64_t t = 0; t < count; ++t, ++step_row)
            for (int r = 0; r < world; ++r)
              for (int64_t v = 0; v < vocab_local && r * vocab_local + v < V; ++v)
                out[(out_row + t) * V + r * vocab_local + v] = slices[(r * rows + step_row) * vocab_local + v];
        }
      }
      for (size_t k = 0; k < batch.sequences.size(); ++k) fed[rows_of[k]] += batch.sequences[k].rows;
    }
  });
  holding_ = true;
  for (size_t i = 0; i < n; ++i)
    lengths_[slots[i]] = (starts[i] < 0 ? lengths_[slots[i]] : starts[i]) + static_cast<int64_t>(ids[i].size());
  return out;
}

void CausalLM::copy_slots(const std::vector<int>& src, const std::vector<int>& dst) {
  if (src.size() != dst.size())
    fail(ErrorCode::kInvalidArgument, "copy_slots(): {} sources for {} destinations", src.size(), dst.size());
  std::set<int> sources(src.begin(), src.end()), targets;
  for (size_t i = 0; i < src.size(); ++i) {
    check_slot(src[i], "source slot");
    check_slot(dst[i], "destination slot");
    if (sources.count(dst[i]))
      fail(ErrorCode::kInvalidArgument, "copy_slots(): slot {} is both a source and a destination", dst[i]);
    if (!targets.insert(dst[i]).second)
      fail(ErrorCode::kInvalidArgument, "copy_slots(): slot {} is a destination twice", dst[i]);
  }
  if (src.empty()) return;
  const bool holding = holding_;
  session_.run([&](RankState& rank) {
    KvCache& cache = rank.engine.cache();
    if (!holding) hold_all(cache);
    for (size_t i = 0; i < src.size(); ++i) cache.copy_slot(rank.stream, src[i], dst[i]);
    rank.stream.finish();
  });
  holding_ = true;
  for (size_t i = 0; i < src.size(); ++i) lengths_[dst[i]] = lengths_[src[i]];
}

void CausalLM::reset() {
  if (holding_) session_.run([](RankState& rank) { release_all(rank.engine.cache()); });
  holding_ = false;
  std::fill(lengths_.begin(), lengths_.end(), 0);
}

int64_t CausalLM::length(int slot) const {
  check_slot(slot, "slot");
  return lengths_[slot];
}

}  // namespace vkinfer::python
