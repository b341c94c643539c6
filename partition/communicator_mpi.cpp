// MPI communicator: one rank per process (Open MPI or MPICH). A failing rank
// calls MPI_Abort, which makes mpirun end every rank promptly instead of
// leaving the others blocked in a collective.
#include "partition/mpi.h"

#include <chrono>
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

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) check(MPI_Init(nullptr, nullptr), "init");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &world_);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &local_rank_);
    MPI_Comm_free(&local);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int world() const override { return world_; }
  int local_rank() const { return local_rank_; }
  void all_reduce_sum(float* data, size_t count) override {
    Timer timer(seconds_);
    check(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
          "all_reduce");
  }
  void all_gather(const void* send, size_t bytes, void* recv) override {
    Timer timer(seconds_);
    check(MPI_Allgather(send, static_cast<int>(bytes), MPI_BYTE, recv, static_cast<int>(bytes), MPI_BYTE,
                        MPI_COMM_WORLD), "all_gather");
  }
  void broadcast(void* data, size_t bytes, int root) override {
    Timer timer(seconds_);
    check(MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, root, MPI_COMM_WORLD), "broadcast");
  }
  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "barrier"); }
  void abort(const std::string& reason) override {
    std::fprintf(stderr, "vkinfer: rank %d failed: %s\n", rank_, reason.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }

 private:
  struct Timer {
    explicit Timer(double& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
    ~Timer() { total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
    double& total_;
    std::chrono::steady_clock::time_point start_;
  };
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
