// ModelSession: run_ranks() on a thread of its own, each rank loading the
// model and then running posted jobs until the session ends.
#include "python/model_session.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/model/load_decoder.h"

namespace vkinfer::python {
namespace {

// The error to report out of several ranks': a peer's "the group was
// aborted" (kComm) only when no rank has a root cause.
std::exception_ptr root_cause(const std::vector<std::exception_ptr>& errors) {
  std::exception_ptr first;
  for (const auto& error : errors) {
    if (!error) continue;
    if (!first) first = error;
    try {
      std::rethrow_exception(error);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kComm) return error;
    } catch (...) {
      return error;
    }
  }
  return first;
}

}  // namespace

ModelSession::ModelSession(const SessionOptions& options) : tp_(options.tp) {
  if (options.tp < 1) fail(ErrorCode::kInvalidArgument, "tp must be >= 1 (got {})", options.tp);
  if (options.slots < 1) fail(ErrorCode::kInvalidArgument, "batch must be >= 1 (got {})", options.slots);
  if (options.ctx < 0) fail(ErrorCode::kInvalidArgument, "ctx must be >= 0 (got {}; 0 = the model's maximum)", options.ctx);
  if (options.max_prefill_rows < 1)
    fail(ErrorCode::kInvalidArgument, "max_prefill_rows must be >= 1 (got {})", options.max_prefill_rows);
  // Read here, on the caller's thread, so that a bad folder fails before any
  // device opens and the session knows the model's vocabulary and eos ids.
  config_ = ModelConfig::load(options.model).decoder();
  job_errors_.resize(options.tp);

  RankOptions ranks;
  ranks.tp = options.tp;
  ranks.devices = options.devices;
  thread_ = std::thread([this, ranks, options] {
    std::exception_ptr error;
    try {
      run_ranks(ranks, [&](RankContext& rank) {
        DecoderLimits limits;
        limits.batch = options.slots;
        limits.ctx = options.ctx;
        limits.quant = options.quant;
        limits.max_rows_per_seq = options.max_prefill_rows;
        // forward() hands back every row's logits (transformers' model
        // outputs have them); generate() asks for the last rows only.
        limits.all_logits = true;
        auto decoder = load_decoder(options.model, rank.device, rank.comm, options.dtype, limits);
        Engine engine(*decoder);
        vk::CommandStream stream(rank.device);
        RankState state{rank, *decoder, engine, stream};
        {
          std::lock_guard<std::mutex> lock(mutex_);
          if (state.lead()) {
            limits_ = decoder->limits();  // ctx resolved, eos ids from generation_config.json
            config_ = decoder->config();
          }
          ++ready_;
        }
        done_.notify_all();
        rank_loop(rank, state);
      });
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fatal_ = error;
      ended_ = true;
    }
    done_.notify_all();
  });

  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return ready_ == tp_ || ended_; });
  if (ready_ == tp_ && !ended_) return;
  lock.unlock();
  thread_.join();
  if (fatal_) std::rethrow_exception(fatal_);
  fail(ErrorCode::kInternal, "the model's ranks ended while loading");
}

void ModelSession::rank_loop(RankContext& rank, RankState& state) {
  const int index = rank.world.rank();
  uint64_t seen = 0;
  while (true) {
    const std::function<void(RankState&)>* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || job_number_ != seen; });
      if (stopping_) return;
      seen = job_number_;
      job = job_;
    }
    std::exception_ptr error;
    try {
      (*job)(state);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_errors_[index] = error;
      ++finished_;
    }
    done_.notify_all();
    // With peers, a failed rank may have left them inside a collective:
    // leaving run_ranks() aborts the group, which wakes them with an error.
    if (error && tp_ > 1) std::rethrow_exception(error);
  }
}

void ModelSession::run(const std::function<void(RankState&)>& job) {
  std::lock_guard<std::mutex> turn(call_mutex_);
  std::unique_lock<std::mutex> lock(mutex_);
  if (ended_ || stopping_) {
    std::string why = "an earlier error";
    if (fatal_) {
      try {
        std::rethrow_exception(fatal_);
      } catch (const std::exception& e) {
        why = e.what();
      }
    }
    fail(ErrorCode::kInternal, "this model's ranks stopped after an error ({}). HINT: load the model again", why);
  }
  job_ = &job;
  finished_ = 0;
  std::fill(job_errors_.begin(), job_errors_.end(), nullptr);
  ++job_number_;
  wake_.notify_all();
  done_.wait(lock, [&] { return finished_ == tp_ || ended_; });
  job_ = nullptr;
  std::exception_ptr error = root_cause(job_errors_);
  if (!error && finished_ == tp_) return;
  if (tp_ > 1 || ended_) {
    // The group is gone (or going): let every rank leave, keep the cause.
    stopping_ = true;
    wake_.notify_all();
    lock.unlock();
    thread_.join();
    lock.lock();
    if (!error) error = fatal_;
    if (!fatal_) fatal_ = error;
  }
  if (error) std::rethrow_exception(error);
  fail(ErrorCode::kInternal, "the model's ranks ended during a call");
}

ModelSession::~ModelSession() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace vkinfer::python
