// Scheduler: FIFO admission into free KV slots with the pages a sequence
// will fill; decode rows first (they are one each and keep running
// sequences moving), then prefill chunks.
#include "engine/runtime/scheduler.h"

#include <algorithm>

#include "engine/core/error.h"

namespace vkinfer {

Scheduler::Scheduler(KvCache& cache, int64_t max_rows, int64_t max_chunk)
    : cache_(cache), max_rows_(max_rows), max_chunk_(max_chunk) {
  // Every slot's decode row must fit a step, or a full batch could stall.
  if (max_chunk < 1 || max_rows < cache.slots())
    fail(ErrorCode::kInternal, "scheduler: {} rows per step for {} slots (chunk {})", max_rows,
         cache.slots(), max_chunk);
}

void Scheduler::submit(Sequence* sequence) {
  if (sequence->prompt.empty() || sequence->finished || sequence->slot >= 0)
    fail(ErrorCode::kInternal, "scheduler: a sequence must be new and have a prompt");
  waiting_.push_back(sequence);
}

std::vector<ScheduledRows> Scheduler::plan() {
  while (!waiting_.empty()) {
    // Pages for every position it can write: the prompt and all but the
    // last of its tokens (the last is sampled, never fed). FIFO: when the
    // head does not fit, later ones wait too, so a long request is not
    // starved by short ones.
    const Sequence& head = *waiting_.front();
    const int slot = cache_.acquire(reserved_positions(head));
    if (slot < 0) break;
    Sequence* sequence = waiting_.front();
    waiting_.pop_front();
    sequence->slot = slot;
    sequence->fed = 0;
    running_.push_back(sequence);
  }
  std::vector<ScheduledRows> step;
  int64_t budget = max_rows_;
  for (Sequence* sequence : running_)
    if (!sequence->prefilling()) {
      step.push_back({sequence, 1});
      --budget;
    }
  for (Sequence* sequence : running_) {
    if (!sequence->prefilling() || budget == 0) continue;
    const int64_t rows = std::min({sequence->prompt_length() - sequence->fed, max_chunk_, budget});
    step.push_back({sequence, rows});
    budget -= rows;
  }
  return step;
}

int64_t Scheduler::reserved_positions(const Sequence& sequence) const {
  return std::min(sequence.prompt_length() + std::max<int64_t>(sequence.max_new_tokens, 1) - 1, cache_.ctx());
}

void Scheduler::retire(Sequence* sequence) {
  auto it = std::find(running_.begin(), running_.end(), sequence);
  if (it == running_.end()) fail(ErrorCode::kInternal, "scheduler: retiring a sequence that is not running");
  running_.erase(it);
  cache_.release(sequence->slot);
  sequence->slot = -1;
}

void Scheduler::withdraw(Sequence* sequence) {
  auto waiting = std::find(waiting_.begin(), waiting_.end(), sequence);
  if (waiting != waiting_.end()) {
    waiting_.erase(waiting);
    return;
  }
  if (std::find(running_.begin(), running_.end(), sequence) != running_.end()) retire(sequence);
}

}  // namespace vkinfer
