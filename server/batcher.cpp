// The serving loop: the leader's orders (retire, admit, stop) shared with
// every rank, one Engine step, then each sampled token to its request (eos,
// stop strings, length) on the leader.
#include "server/batcher.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "engine/core/error.h"
#include "engine/runtime/generator.h"

namespace vkinfer::server {
namespace {

// Orders travel as bytes: plain fields appended in a fixed order.
class Writer {
 public:
  template <typename T>
  void put(const T& value) {
    const auto* p = reinterpret_cast<const uint8_t*>(&value);
    bytes.insert(bytes.end(), p, p + sizeof(T));
  }
  std::vector<uint8_t> bytes;
};

class Reader {
 public:
  explicit Reader(const std::vector<uint8_t>& bytes) : bytes_(bytes) {}
  template <typename T>
  T get() {
    if (at_ + sizeof(T) > bytes_.size()) fail(ErrorCode::kInternal, "serve: truncated step orders");
    T value;
    std::memcpy(&value, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return value;
  }

 private:
  const std::vector<uint8_t>& bytes_;
  size_t at_ = 0;
};

}  // namespace

namespace {

int64_t step_budget(Engine& engine, int64_t step_rows) {
  if (step_rows <= 0) return engine.max_rows();
  return std::clamp(step_rows, engine.cache().slots(), engine.max_rows());
}

}  // namespace

Batcher::Batcher(Engine& engine, const Tokenizer* tokenizer, size_t max_queue, Communicator* world,
                 int64_t step_rows)
    : engine_(engine),
      tokenizer_(tokenizer),
      max_queue_(max_queue),
      world_(world && world->world() > 1 ? world : nullptr),
      leader_(world_ == nullptr || world_->rank() == 0),
      scheduler_(engine.cache(), step_budget(engine, step_rows), engine.max_chunk()) {
  stats_.kv_slots = engine.cache().slots();
  stats_.kv_pages = engine.cache().pages();
  stats_.kv_tokens = engine.cache().pages() * KvCache::kPagePositions;
}

bool Batcher::submit(std::shared_ptr<ServeRequest> request) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // The bound counts requests still waiting for a KV slot wherever they
    // wait: here, or admitted to the scheduler but not yet running.
    if (!leader_ || stopping_ || queue_.size() + scheduler_waiting_ >= max_queue_) return false;
    queue_.push_back(std::move(request));
    stats_.queued = queue_.size();
  }
  wake_.notify_all();
  return true;
}

void Batcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
}

BatcherStats Batcher::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

Batcher::Orders Batcher::lead() {
  Orders orders;
  std::deque<std::shared_ptr<ServeRequest>> incoming;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || !live_.empty(); });
    orders.stop = stopping_;
    if (!stopping_) {
      std::swap(incoming, queue_);
      stats_.queued = 0;
      for (const auto& request : incoming) {
        ++stats_.requests;
        stats_.prompt_tokens += request->prompt.size();
      }
    }
  }
  // Clients that went away: retired before this step, their slots free.
  for (Live& live : live_)
    if (!live.sequence.finished && live.request->cancelled()) finish(live, "cancelled");
  orders.retire.swap(finished_);
  for (auto& request : incoming) {
    Orders::Admit admit;
    admit.id = next_id_++;
    admit.prompt = request->prompt;
    admit.sampling = request->sampling;
    admit.max_new_tokens = request->max_new_tokens;
    admit.logprobs = request->logprobs;
    orders.admit.push_back(std::move(admit));
    admitted_.push_back(std::move(request));
  }
  return orders;
}

void Batcher::share(Orders& orders) {
  if (!world_) return;
  Writer w;
  if (leader_) {
    w.put<uint8_t>(orders.stop);
    w.put<uint64_t>(orders.retire.size());
    for (uint64_t id : orders.retire) w.put(id);
    w.put<uint64_t>(orders.admit.size());
    for (const Orders::Admit& a : orders.admit) {
      w.put(a.id);
      w.put<uint64_t>(a.prompt.size());
      for (int32_t t : a.prompt) w.put(t);
      w.put<uint8_t>(a.sampling.greedy);
      w.put(a.sampling.temperature);
      w.put(a.sampling.top_k);
      w.put(a.sampling.top_p);
      w.put(a.sampling.repetition_penalty);
      w.put(a.sampling.seed);
      w.put(a.max_new_tokens);
      w.put(a.logprobs);  // every rank runs the logprob pass (tp exchanges it)
    }
  }
  uint64_t size = w.bytes.size();
  // Followers wait here while the server is idle, without spinning a core.
  world_->broadcast_idle(&size, sizeof(size), 0);
  w.bytes.resize(size);
  world_->broadcast(w.bytes.data(), size, 0);
  if (leader_) return;
  Reader r(w.bytes);
  orders = Orders();
  orders.stop = r.get<uint8_t>() != 0;
  orders.retire.resize(r.get<uint64_t>());
  for (uint64_t& id : orders.retire) id = r.get<uint64_t>();
  orders.admit.resize(r.get<uint64_t>());
  for (Orders::Admit& a : orders.admit) {
    a.id = r.get<uint64_t>();
    a.prompt.resize(r.get<uint64_t>());
    for (int32_t& t : a.prompt) t = r.get<int32_t>();
    a.sampling.greedy = r.get<uint8_t>() != 0;
    a.sampling.temperature = r.get<float>();
    a.sampling.top_k = r.get<int>();
    a.sampling.top_p = r.get<float>();
    a.sampling.repetition_penalty = r.get<float>();
    a.sampling.seed = r.get<uint64_t>();
    a.max_new_tokens = r.get<int64_t>();
    a.logprobs = r.get<int>();
  }
}

void Batcher::apply(const Orders& orders) {
  for (uint64_t id : orders.retire) {
    auto it = std::find_if(live_.begin(), live_.end(), [&](const Live& l) { return l.id == id; });
    if (it == live_.end()) fail(ErrorCode::kInternal, "serve: retiring sequence {} that does not run", id);
    scheduler_.withdraw(&it->sequence);
    live_.erase(it);
  }
  for (size_t i = 0; i < orders.admit.size(); ++i) {
    const Orders::Admit& admit = orders.admit[i];
    Live& live = live_.emplace_back();
    live.id = admit.id;
    live.sequence.prompt = admit.prompt;
    live.sequence.sampling = admit.sampling;
    live.sequence.max_new_tokens = admit.max_new_tokens;
    live.sequence.logprobs = admit.logprobs;
    if (leader_) {
      live.request = std::move(admitted_.at(i));
      if (tokenizer_) {
        live.text = std::make_unique<StreamDecoder>(*tokenizer_);
        live.stops = std::make_unique<StopMatcher>(live.request->stop);
      }
    }
    scheduler_.submit(&live.sequence);
  }
  admitted_.clear();
}

void Batcher::finish(Live& live, const std::string& reason) {
  ServeEvent last;
  last.done = true;
  last.finish_reason = reason;
  // The decoder's last bytes and the text held back for a possible stop
  // sequence that never came (a last-moment one is still cut).
  if (live.text && reason != "cancelled" && reason != "stop_string") last.text = live.stops->finish(live.text->flush());
  // OpenAI reports an end-of-sequence token and a stop string alike.
  if (last.finish_reason == "stop_string" || last.finish_reason == "eos") last.finish_reason = "stop";
  live.sequence.finished = true;
  live.request->push(std::move(last));
  finished_.push_back(live.id);
}

void Batcher::accept(Live& live, int32_t token, const ops::TokenLogprobs& logprobs) {
  Sequence& s = live.sequence;
  s.generated.push_back(token);
  ServeEvent event;
  event.token = token;
  // Every accepted token is reported, as usage counts it: those of a stop
  // sequence too (vLLM reports them so), though the text leaves it out.
  event.has_logprobs = s.logprobs >= 0;
  if (event.has_logprobs) event.logprobs = logprobs;
  bool stopped = false;
  if (live.text) {
    // OpenAI's stop sequences: the text ends before the first one, and text
    // that may begin one waits until the next token shows whether it does.
    event.text = live.stops->push(live.text->push(token));
    stopped = live.stops->stopped();
  }
  live.request->push(std::move(event));
  const auto& eos = engine_.decoder().config().eos_token_ids;
  if (std::find(eos.begin(), eos.end(), token) != eos.end()) finish(live, "eos");
  else if (stopped) finish(live, "stop_string");
  else if (static_cast<int64_t>(s.generated.size()) >= s.max_new_tokens) finish(live, "length");
}

void Batcher::run() {
  vk::CommandStream stream(engine_.decoder().device());
  using Clock = std::chrono::steady_clock;
  while (true) {
    Orders orders = leader_ ? lead() : Orders();
    share(orders);
    if (orders.stop) break;
    apply(orders);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      scheduler_waiting_ = scheduler_.waiting();
    }
    const std::vector<ScheduledRows> plan = scheduler_.plan();
    double step_seconds = 0;
    uint64_t generated = 0;
    if (!plan.empty()) {
      const auto start = Clock::now();
      const std::vector<int32_t> tokens = engine_.step(stream, plan);
      step_seconds = std::chrono::duration<double>(Clock::now() - start).count();
      for (size_t k = 0; k < plan.size(); ++k) {
        if (tokens[k] < 0) continue;
        Live& live = *std::find_if(live_.begin(), live_.end(),
                                   [&](const Live& l) { return &l.sequence == plan[k].sequence; });
        if (live.sequence.finished) continue;
        ++generated;
        // Every rank feeds the token at the next step; only the leader
        // decides what it means for the request.
        if (leader_) accept(live, tokens[k], engine_.logprobs()[k]);
        else live.sequence.generated.push_back(tokens[k]);
      }
    }
    // Gauges after every pass, a step or only admissions and retirements.
    const KvCache& cache = engine_.cache();
    const int64_t used_tokens = cache.used_positions(), used_pages = cache.pages() - cache.free_pages();
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.busy_seconds += step_seconds;
    stats_.generated_tokens += generated;
    stats_.running = scheduler_.running().size();
    stats_.kv_slots_used = static_cast<int64_t>(scheduler_.running().size());
    stats_.kv_tokens_used = used_tokens;
    stats_.kv_pages_used = used_pages;
    scheduler_waiting_ = scheduler_.waiting();
  }
  cancel_pending();
}

Batcher::~Batcher() {
  // A rank that failed leaves the loop by an exception: its requests still
  // get their last event, so no HTTP handler waits for ever.
  cancel_pending();
}

void Batcher::cancel_pending() {
  if (!leader_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  stopping_ = true;
  for (auto& request : queue_) request->push({-1, "", true, "cancelled"});
  queue_.clear();
  for (auto& request : admitted_) request->push({-1, "", true, "cancelled"});
  admitted_.clear();
  for (Live& live : live_)
    if (!live.sequence.finished) {
      live.sequence.finished = true;
      live.request->push({-1, "", true, "cancelled"});
    }
  live_.clear();
}

}  // namespace vkinfer::server
