// Which sequences run in the next step. Between steps it admits waiting
// sequences while a KV-cache slot is free and the cache's page pool holds
// the positions the sequence will write (so at most `slots` run at once)
// and plans each running one's rows: one row per decoding sequence, then
// prefill chunks of the others within the step's row budget. Prefill and
// decode mix in one step, so a new request starts while others decode.
// It owns no model state and never touches the device; the Engine runs what
// it plans. Every tensor-parallel rank plans the same steps from the same
// inputs.
#pragma once

#include <deque>
#include <vector>

#include "engine/model/kv_cache.h"
#include "engine/runtime/sequence.h"

namespace vkinfer {

class Scheduler {
 public:
  // max_rows: rows one step may carry; max_chunk: the longest prefill chunk
  // of one sequence in one step.
  Scheduler(KvCache& cache, int64_t max_rows, int64_t max_chunk);

  // Queues a sequence (FIFO). It must outlive its time in the scheduler.
  void submit(Sequence* sequence);
  // Admits what fits and plans the next step; empty when nothing runs.
  std::vector<ScheduledRows> plan();
  // Removes a finished sequence and frees its slot for the next waiting one.
  void retire(Sequence* sequence);
  // Drops a sequence wherever it is (waiting, or running: then as retire);
  // a server uses it when a client goes away.
  void withdraw(Sequence* sequence);

  // KV positions a sequence is admitted with: its prompt and the tokens it
  // may feed back (max_new_tokens - 1), at most the context.
  int64_t reserved_positions(const Sequence& sequence) const;

  bool idle() const { return running_.empty() && waiting_.empty(); }
  const std::vector<Sequence*>& running() const { return running_; }
  size_t waiting() const { return waiting_.size(); }

 private:
  KvCache& cache_;
  int64_t max_rows_, max_chunk_;
  std::deque<Sequence*> waiting_;
  std::vector<Sequence*> running_;  // in admission order
};

}  // namespace vkinfer
