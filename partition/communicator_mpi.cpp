// MPI communicator: one rank per process (Open MPI or MPICH). A failing rank
// calls MPI_Abort on MPI_COMM_WORLD (from any group), which makes mpirun end
// every rank promptly instead of leaving the others blocked in a collective
// or a receive. Groups are MPI_Comm_split sub-communicators of the world.
#include "partition/mpi.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "engine/core/error.h"

#ifdef VKINFER_HAVE_MPI
#include <mpi.h>
#endif

namespace vkinfer {

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(name)) return true;
  return false;
}

#ifdef VKINFER_HAVE_MPI
namespace {

void check(int code, const char* what) {
  if (code != MPI_SUCCESS) fail(ErrorCode::kComm, "MPI {} failed (code {})", what, code);
}

// MPI counts are ints; larger messages are refused rather than truncated.
int count_of(size_t count, const char* what) {
  if (count > static_cast<size_t>(INT_MAX))
    fail(ErrorCode::kInternal, "MPI {} of {} elements exceeds INT_MAX", what, count);
  return static_cast<int>(count);
}

class MpiCommunicator final : public Communicator {
 public:
  // The world: initializes MPI and finalizes it when destroyed.
  MpiCommunicator() : owns_mpi_(true) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) check(MPI_Init(nullptr, nullptr), "init");
    comm_ = MPI_COMM_WORLD;
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &world_);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &local_rank_);
    MPI_Comm_free(&local);
  }
  // A group split from another communicator; it owns `comm`.
  explicit MpiCommunicator(MPI_Comm comm) : comm_(comm), owns_mpi_(false) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &world_);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;
    if (!owns_mpi_) {
      MPI_Comm_free(&comm_);
      return;
    }
    MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int world() const override { return world_; }
  int local_rank() const { return local_rank_; }
  void all_reduce_sum(float* data, size_t count) override {
    Timer timer(seconds_);
    check(MPI_Allreduce(MPI_IN_PLACE, data, count_of(count, "all_reduce"), MPI_FLOAT, MPI_SUM, comm_),
          "all_reduce");
  }
  void all_gather(const void* send, size_t bytes, void* recv) override {
    Timer timer(seconds_);
    const int n = count_of(bytes, "all_gather");
    check(MPI_Allgather(send, n, MPI_BYTE, recv, n, MPI_BYTE, comm_), "all_gather");
  }
  void broadcast(void* data, size_t bytes, int root) override {
    Timer timer(seconds_);
    check(MPI_Bcast(data, count_of(bytes, "broadcast"), MPI_BYTE, root, comm_), "broadcast");
  }
  // Open MPI's blocking collectives poll, so a follower of an idle server
  // would keep a core at 100% inside MPI_Bcast. Here a non-blocking
  // broadcast is tested with sleeps that grow from 50 us to 2 ms: a busy
  // server's step pays at most the first sleeps, an idle one costs nothing.
  void broadcast_idle(void* data, size_t bytes, int root) override {
    Timer timer(seconds_);
    MPI_Request request;
    check(MPI_Ibcast(data, count_of(bytes, "broadcast"), MPI_BYTE, root, comm_, &request), "broadcast");
    auto pause = std::chrono::microseconds(50);
    for (int done = 0;;) {
      check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "broadcast");
      if (done) return;
      std::this_thread::sleep_for(pause);
      pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(2));
    }
  }
  void barrier() override { check(MPI_Barrier(comm_), "barrier"); }
  void send(const void* data, size_t bytes, int peer, int tag) override {
    Timer timer(seconds_);
    check_peer(peer, "send to");
    check(MPI_Send(data, count_of(bytes, "send"), MPI_BYTE, peer, tag, comm_), "send");
  }
  void recv(void* data, size_t bytes, int peer, int tag) override {
    Timer timer(seconds_);
    check_peer(peer, "recv from");
    MPI_Status status;
    check(MPI_Recv(data, count_of(bytes, "recv"), MPI_BYTE, peer, tag, comm_, &status), "recv");
    int got = 0;
    MPI_Get_count(&status, MPI_BYTE, &got);
    if (static_cast<size_t>(got) != bytes)
      fail(ErrorCode::kComm, "rank {} sent {} bytes to rank {}, which expected {}", peer, got, rank_, bytes);
  }
  std::unique_ptr<Communicator> split(int color, int key) override {
    MPI_Comm sub;
    check(MPI_Comm_split(comm_, color, key, &sub), "comm_split");
    return std::make_unique<MpiCommunicator>(sub);
  }
  void abort(const std::string& reason) override {
    int world_rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    std::fprintf(stderr, "vkinfer: rank %d failed: %s\n", world_rank, reason.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }

 private:
  void check_peer(int peer, const char* what) const {
    if (peer < 0 || peer >= world_ || peer == rank_)
      fail(ErrorCode::kInternal, "rank {} cannot {} rank {} in a group of {}", rank_, what, peer, world_);
  }
  struct Timer {
    explicit Timer(double& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
    ~Timer() { total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
    double& total_;
    std::chrono::steady_clock::time_point start_;
  };
  MPI_Comm comm_ = MPI_COMM_NULL;
  bool owns_mpi_ = false;
  int rank_ = 0, world_ = 1, local_rank_ = 0;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator(int* local_rank) {
  auto comm = std::make_unique<MpiCommunicator>();
  if (local_rank) *local_rank = comm->local_rank();
  return comm;
}
#else
std::unique_ptr<Communicator> make_mpi_communicator(int*) {
  fail(ErrorCode::kUnsupported, "this vkinfer was built without MPI. HINT: apt-get install "
       "libopenmpi-dev and rebuild");
}
#endif

}  // namespace vkinfer
