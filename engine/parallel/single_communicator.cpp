// The world of one rank: every collective is the identity. Graphs call the
// same collectives at tp == 1, so they are written once.
#include <cstring>

#include "engine/core/error.h"
#include "engine/parallel/communicator.h"

namespace vkinfer {
namespace {

class SingleCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world() const override { return 1; }
  void all_reduce_sum(float*, size_t) override {}
  void all_gather(const void* send, size_t bytes, void* recv) override {
    std::memcpy(recv, send, bytes);
  }
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
  // A one-rank group has no peer: a message to itself would wait forever.
  void send(const void*, size_t, int peer, int) override {
    fail(ErrorCode::kInternal, "send to rank {} in a group of one rank", peer);
  }
  void recv(void*, size_t, int peer, int) override {
    fail(ErrorCode::kInternal, "recv from rank {} in a group of one rank", peer);
  }
  std::unique_ptr<Communicator> split(int, int) override {
    return std::make_unique<SingleCommunicator>();
  }
  void abort(const std::string&) override {}
};

}  // namespace

std::unique_ptr<Communicator> make_single_communicator() {
  return std::make_unique<SingleCommunicator>();
}

}  // namespace vkinfer
