// A causal LM kept loaded between Python calls. The CLI runs a model inside
// one run_ranks() call and is done; Python calls generate()/forward() many
// times on the same loaded model. So a session thread enters run_ranks()
// (partition/ranks.h, the launcher the CLI uses: tp ranks as threads on
// logical devices, each with its device and communicators), every rank loads
// its Decoder and Engine, and then waits for jobs: each call posts one job
// that every rank runs at the same time (the collectives need all of them),
// and the caller waits for all. Requests are validated on the caller's
// thread before they are posted, so a bad argument never reaches a rank.
// A job that still fails on a rank with tp > 1 aborts the group (peers may
// be inside a collective): the session is then dead and says so.
#pragma once

#include <condition_variable>
#include <exception>
#include <filesystem>
#include <string>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/model/config.h"
#include "engine/model/decoder.h"
#include "engine/runtime/engine.h"
#include "engine/vk/command_stream.h"
#include "partition/ranks.h"

namespace vkinfer::python {

struct SessionOptions {
  std::filesystem::path model;
  DType dtype = DType::kF32;
  std::string quant;         // --quant recipe ("" = none): weight matrices quantized at load
  int tp = 1;
  std::vector<int> devices;  // physical device per rank; empty: 0 for all
  int64_t ctx = 0;           // 0: the model's maximum
  int64_t slots = 1;         // KV-cache slots: sequences (rows, beams) at once
  int64_t max_prefill_rows = 64;  // rows of one sequence per forward; longer inputs go in chunks
};

// What a job sees on its rank.
struct RankState {
  RankContext& rank;
  Decoder& decoder;
  Engine& engine;
  vk::CommandStream& stream;
  bool lead() const { return rank.world.rank() == 0; }  // rank 0 reports results
};

class ModelSession {
 public:
  // Loads the model on every rank; throws what loading threw (bad folder,
  // bad config, out of memory), the root cause rather than a peer's abort.
  explicit ModelSession(const SessionOptions& options);
  ~ModelSession();
  ModelSession(const ModelSession&) = delete;
  ModelSession& operator=(const ModelSession&) = delete;

  // Runs `job` on every rank at once and waits for all of them. Rethrows a
  // rank's error (the root cause). Callers on several threads take turns.
  void run(const std::function<void(RankState&)>& job);

  const DecoderConfig& config() const { return config_; }
  const DecoderLimits& limits() const { return limits_; }
  int tp() const { return tp_; }

 private:
  void rank_loop(RankContext& rank, RankState& state);

  DecoderConfig config_;
  DecoderLimits limits_;
  int tp_ = 1;
  std::thread thread_;  // inside run_ranks() until the session ends

  std::mutex call_mutex_;  // one run() at a time
  std::mutex mutex_;
  std::condition_variable wake_;  // ranks wait for a job (or the end)
  std::condition_variable done_;  // the caller waits for the ranks
  const std::function<void(RankState&)>* job_ = nullptr;
  uint64_t job_number_ = 0;  // bumped per job, so each rank runs it once
  int ready_ = 0;            // ranks loaded
  int finished_ = 0;         // ranks done with the current job
  bool stopping_ = false;
  bool ended_ = false;       // run_ranks() returned (load failure or a dead group)
  std::exception_ptr fatal_;  // why the ranks ended, if they failed
  std::vector<std::exception_ptr> job_errors_;  // per rank, for the current job
};

}  // namespace vkinfer::python
