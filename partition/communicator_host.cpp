// Host-staged communicators (threads in one process).
// Host-staged collectives rendezvous on a generation-counted barrier; each
// rank publishes a pointer to its data, and the reduction is done by each
// rank over its own slice of the vector (reduce-scatter then gather), so two
// ranks split the adding work instead of one rank doing all of it.
// Point-to-point messages go through one mailbox per (sender, receiver)
// pair: the sender publishes its pointer and waits until the receiver has
// copied it (a synchronous send), so nothing is buffered or allocated.
// Groups split from one world share a HostFamily, through which an abort
// wakes every waiting rank of every group.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "engine/core/error.h"
#include "engine/parallel/communicator.h"

namespace vkinfer {

class HostGroup;

// Every group split (directly or not) from one world.
struct HostFamily {
  std::mutex mutex;
  bool aborted = false;
  std::string reason;
  std::vector<std::weak_ptr<HostGroup>> groups;

  void add(const std::shared_ptr<HostGroup>& group);
  void abort(const std::string& why);
};

class HostGroup {
 public:
  HostGroup(int world, std::shared_ptr<HostFamily> family)
      : world_(world), slots_(world, nullptr), boxes_(size_t(world) * world),
        split_args_(world), split_out_(world), split_rank_(world, 0), family_(std::move(family)) {}

  static std::shared_ptr<HostGroup> create(int world, std::shared_ptr<HostFamily> family) {
    auto group = std::make_shared<HostGroup>(world, family);
    family->add(group);
    return group;
  }

  // Waits until all ranks arrive; throws if any rank aborted.
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    throw_if_aborted();
    const uint64_t generation = generation_;
    if (++arrived_ == world_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return generation_ != generation || aborted_; });
    throw_if_aborted();
  }
  void abort(const std::string& reason) { family_->abort(reason); }
  // Called by the family for every group: wakes this group's waiters.
  void wake_aborted(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!aborted_) abort_reason_ = reason;
    aborted_ = true;
    cv_.notify_all();
  }

  void send(int from, const void* data, size_t bytes, int to, int tag) {
    check_peer(from, to, "send to");
    Mailbox& box = boxes_[size_t(from) * world_ + to];
    std::unique_lock<std::mutex> lock(mutex_);
    throw_if_aborted();
    box = {data, bytes, tag, true, false, {}};
    cv_.notify_all();
    cv_.wait(lock, [&] { return box.taken || aborted_; });
    const bool taken = box.taken;
    const std::string error = box.error;
    box = {};
    if (!taken) throw_if_aborted();
    if (!error.empty()) throw Error(ErrorCode::kComm, error);
  }

  void recv(int self, void* data, size_t bytes, int from, int tag) {
    check_peer(self, from, "recv from");
    Mailbox& box = boxes_[size_t(from) * world_ + self];
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return (box.full && !box.taken) || aborted_; });
    throw_if_aborted();
    if (box.bytes != bytes || box.tag != tag) {
      box.error = fmt::format("rank {} sent {} bytes with tag {} to rank {}, which expected {} "
                              "bytes with tag {}", from, box.bytes, box.tag, self, bytes, tag);
      box.taken = true;
      cv_.notify_all();
      throw Error(ErrorCode::kComm, box.error);
    }
    // The sender waits for `taken`, so its data stays valid while we copy
    // without holding the group's lock.
    const void* source = box.data;
    lock.unlock();
    std::memcpy(data, source, bytes);
    lock.lock();
    box.taken = true;
    cv_.notify_all();
  }

  // Collective: see Communicator::split.
  std::pair<std::shared_ptr<HostGroup>, int> split(int rank, int color, int key) {
    split_args_[rank] = {color, key};
    arrive_and_wait();
    std::vector<int> members;
    for (int r = 0; r < world_; ++r)
      if (split_args_[r].first == color) members.push_back(r);
    std::stable_sort(members.begin(), members.end(),
                     [&](int a, int b) { return split_args_[a].second < split_args_[b].second; });
    // The group's lowest rank makes it and hands it to the members.
    if (rank == *std::min_element(members.begin(), members.end())) {
      auto group = create(static_cast<int>(members.size()), family_);
      for (size_t i = 0; i < members.size(); ++i) {
        split_out_[members[i]] = group;
        split_rank_[members[i]] = static_cast<int>(i);
      }
    }
    arrive_and_wait();
    std::pair<std::shared_ptr<HostGroup>, int> mine{std::move(split_out_[rank]), split_rank_[rank]};
    split_out_[rank].reset();
    return mine;
  }

  int world_;
  std::vector<const void*> slots_;

 private:
  struct Mailbox {
    const void* data = nullptr;
    size_t bytes = 0;
    int tag = 0;
    bool full = false;   // a sender is waiting on it
    bool taken = false;  // the receiver has copied it
    std::string error;   // set by the receiver on a size/tag mismatch
  };
  void throw_if_aborted() const {
    if (aborted_) throw Error(ErrorCode::kComm, "a peer rank failed: " + abort_reason_);
  }
  void check_peer(int self, int peer, const char* what) const {
    if (peer < 0 || peer >= world_ || peer == self)
      fail(ErrorCode::kInternal, "rank {} cannot {} rank {} in a group of {}", self, what, peer, world_);
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  int arrived_ = 0;
  uint64_t generation_ = 0;
  bool aborted_ = false;
  std::string abort_reason_;
  std::vector<Mailbox> boxes_;  // [from * world + to]
  std::vector<std::pair<int, int>> split_args_;  // per rank: (color, key)
  std::vector<std::shared_ptr<HostGroup>> split_out_;
  std::vector<int> split_rank_;
  std::shared_ptr<HostFamily> family_;
};

void HostFamily::add(const std::shared_ptr<HostGroup>& group) {
  std::lock_guard<std::mutex> lock(mutex);
  groups.push_back(group);
  if (aborted) group->wake_aborted(reason);
}

void HostFamily::abort(const std::string& why) {
  std::vector<std::shared_ptr<HostGroup>> live;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!aborted) reason = why;
    aborted = true;
    for (auto& weak : groups)
      if (auto group = weak.lock()) live.push_back(std::move(group));
  }
  for (auto& group : live) group->wake_aborted(why);
}

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

  void send(const void* data, size_t bytes, int peer, int tag) override {
    Timer timer(seconds_);
    group_->send(rank_, data, bytes, peer, tag);
  }
  void recv(void* data, size_t bytes, int peer, int tag) override {
    Timer timer(seconds_);
    group_->recv(rank_, data, bytes, peer, tag);
  }
  std::unique_ptr<Communicator> split(int color, int key) override {
    auto [group, rank] = group_->split(rank_, color, key);
    return std::make_unique<HostCommunicator>(std::move(group), rank);
  }

  void barrier() override { group_->arrive_and_wait(); }
  void abort(const std::string& reason) override { group_->abort(reason); }
  void reserve(size_t floats) override { scratch_.reserve(floats); }

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
  auto group = HostGroup::create(world, std::make_shared<HostFamily>());
  std::vector<std::unique_ptr<Communicator>> out;
  for (int r = 0; r < world; ++r) out.push_back(std::make_unique<HostCommunicator>(group, r));
  return out;
}

}  // namespace vkinfer
