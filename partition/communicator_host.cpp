// Host-staged communicators (threads in one process).
// Host-staged collectives rendezvous on a generation-counted barrier; each
// rank publishes a pointer to its data, and the reduction is done by each
// rank over its own slice of the vector (reduce-scatter then gather), so two
// ranks split the adding work instead of one rank doing all of it.
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "engine/core/error.h"
#include "engine/parallel/communicator.h"

namespace vkinfer {

class HostGroup {
 public:
  explicit HostGroup(int world) : world_(world), slots_(world, nullptr) {}

  // Waits until all ranks arrive; throws if any rank aborted.
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (aborted_) throw Error(ErrorCode::kComm, "a peer rank failed: " + abort_reason_);
    const uint64_t generation = generation_;
    if (++arrived_ == world_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return generation_ != generation || aborted_; });
    if (aborted_) throw Error(ErrorCode::kComm, "a peer rank failed: " + abort_reason_);
  }
  void abort(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!aborted_) abort_reason_ = reason;
    aborted_ = true;
    cv_.notify_all();
  }

  int world_;
  std::vector<const void*> slots_;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int arrived_ = 0;
  uint64_t generation_ = 0;
  bool aborted_ = false;
  std::string abort_reason_;
};

namespace {

class HostCommunicator final : public Communicator {
 public:
  HostCommunicator(std::shared_ptr<HostGroup> group, int rank) : group_(std::move(group)), rank_(rank) {}
  int rank() const override { return rank_; }
  int world() const override { return group_->world_; }

  void all_reduce_sum(float* data, size_t count) override {
    Timer timer(seconds_);
    const int world = group_->world_;
    // Reduce-scatter in place into scratch, then everyone copies the sums.
    scratch_.resize(count);
    group_->slots_[rank_] = data;
    group_->arrive_and_wait();
    const size_t per_rank = (count + world - 1) / world;
    const size_t begin = std::min(count, per_rank * rank_), end = std::min(count, begin + per_rank);
    for (size_t i = begin; i < end; ++i) {
      float sum = 0;
      for (int r = 0; r < world; ++r) sum += static_cast<const float*>(group_->slots_[r])[i];
      scratch_[i] = sum;
    }
    group_->arrive_and_wait();  // all sums computed (sources still intact)
    group_->slots_[rank_] = scratch_.data();
    group_->arrive_and_wait();
    for (int r = 0; r < world; ++r) {
      const size_t b = std::min(count, per_rank * r), e = std::min(count, b + per_rank);
      std::memcpy(data + b, static_cast<const float*>(group_->slots_[r]) + b, (e - b) * sizeof(float));
    }
    group_->arrive_and_wait();  // nobody reuses scratch while others read it
  }

  void all_gather(const void* send, size_t bytes, void* recv) override {
    Timer timer(seconds_);
    group_->slots_[rank_] = send;
    group_->arrive_and_wait();
    for (int r = 0; r < group_->world_; ++r)
      std::memcpy(static_cast<uint8_t*>(recv) + r * bytes, group_->slots_[r], bytes);
    group_->arrive_and_wait();
  }

  void broadcast(void* data, size_t bytes, int root) override {
    Timer timer(seconds_);
    if (rank_ == root) group_->slots_[root] = data;
    group_->arrive_and_wait();
    if (rank_ != root) std::memcpy(data, group_->slots_[root], bytes);
    group_->arrive_and_wait();
  }

  void barrier() override { group_->arrive_and_wait(); }
  void abort(const std::string& reason) override { group_->abort(reason); }

 private:
  struct Timer {
    explicit Timer(double& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
    ~Timer() {
      total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }
    double& total_;
    std::chrono::steady_clock::time_point start_;
  };
  std::shared_ptr<HostGroup> group_;
  int rank_;
  std::vector<float> scratch_;
};

}  // namespace

std::vector<std::unique_ptr<Communicator>> make_host_communicators(int world) {
  auto group = std::make_shared<HostGroup>(world);
  std::vector<std::unique_ptr<Communicator>> out;
  for (int r = 0; r < world; ++r) out.push_back(std::make_unique<HostCommunicator>(group, r));
  return out;
}

}  // namespace vkinfer
