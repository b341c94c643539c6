// The serving loop: admissions and cancellations between steps, one Engine
// step, then each sampled token to its request (eos, stop strings, length).
#include "server/batcher.h"

#include <algorithm>
#include <chrono>

#include "engine/runtime/generator.h"

namespace vkinfer::server {

Batcher::Batcher(Engine& engine, const Tokenizer* tokenizer, size_t max_queue)
    : engine_(engine),
      tokenizer_(tokenizer),
      max_queue_(max_queue),
      scheduler_(engine.cache(), engine.max_rows(), engine.max_chunk()) {
  stats_.kv_slots = engine.cache().slots();
  stats_.kv_tokens = engine.cache().slots() * engine.cache().ctx();
}

bool Batcher::submit(std::shared_ptr<ServeRequest> request) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // The bound counts requests still waiting for a KV slot wherever they
    // wait: here, or admitted to the scheduler but not yet running.
    if (stopping_ || queue_.size() + scheduler_waiting_ >= max_queue_) return false;
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

void Batcher::admit(std::deque<std::shared_ptr<ServeRequest>>& incoming) {
  for (auto& request : incoming) {
    Live& live = live_.emplace_back();
    live.request = std::move(request);
    live.sequence.prompt = live.request->prompt;
    live.sequence.sampling = live.request->sampling;
    live.sequence.max_new_tokens = live.request->max_new_tokens;
    if (tokenizer_) live.text = std::make_unique<StreamDecoder>(*tokenizer_);
    scheduler_.submit(&live.sequence);
  }
  incoming.clear();
}

void Batcher::finish(Live& live, const std::string& reason) {
  ServeEvent last;
  last.done = true;
  last.finish_reason = reason;
  if (live.text && reason != "cancelled" && reason != "stop_string") {
    std::string tail = live.text->flush();
    const size_t end = stop_string_end(live.emitted + tail, live.request->stop);
    if (end != std::string::npos) tail.resize(end > live.emitted.size() ? end - live.emitted.size() : 0);
    last.text = std::move(tail);
  }
  // OpenAI reports an end-of-sequence token and a stop string alike.
  if (last.finish_reason == "stop_string" || last.finish_reason == "eos") last.finish_reason = "stop";
  live.sequence.finished = true;
  live.request->push(std::move(last));
  scheduler_.withdraw(&live.sequence);
}

void Batcher::accept(Live& live, int32_t token) {
  Sequence& s = live.sequence;
  s.generated.push_back(token);
  ServeEvent event;
  event.token = token;
  bool stopped = false;
  if (live.text) {
    event.text = live.text->push(token);
    const size_t end = stop_string_end(live.emitted + event.text, live.request->stop);
    if (end != std::string::npos) {
      event.text.resize(end > live.emitted.size() ? end - live.emitted.size() : 0);
      stopped = true;
    }
    live.emitted += event.text;
  }
  live.request->push(std::move(event));
  const auto& eos = engine_.decoder().config().eos_token_ids;
  if (std::find(eos.begin(), eos.end(), token) != eos.end()) finish(live, "eos");
  else if (stopped) finish(live, "stop_string");
  else if (static_cast<int64_t>(s.generated.size()) >= s.max_new_tokens) finish(live, "length");
}

void Batcher::run() {
  vk::CommandStream stream(engine_.decoder().device());
  std::deque<std::shared_ptr<ServeRequest>> incoming;
  using Clock = std::chrono::steady_clock;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || !live_.empty(); });
      if (stopping_) {
        for (auto& request : queue_) {
          request->push({-1, "", true, "cancelled"});
        }
        queue_.clear();
        stats_.queued = 0;
        break;
      }
      std::swap(incoming, queue_);
      stats_.queued = 0;
      for (const auto& request : incoming) {
        ++stats_.requests;
        stats_.prompt_tokens += request->prompt.size();
      }
    }
    admit(incoming);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      scheduler_waiting_ = scheduler_.waiting();
    }
    // Clients that went away: their slots are free for this step.
    for (auto it = live_.begin(); it != live_.end();) {
      if (it->request->cancelled() && !it->sequence.finished) finish(*it, "cancelled");
      it = it->sequence.finished ? live_.erase(it) : std::next(it);
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
        accept(live, tokens[k]);
        ++generated;
      }
    }
    // Gauges after every pass, a step or only admissions and cancellations.
    int64_t used_tokens = 0;
    for (const Sequence* s : scheduler_.running()) used_tokens += s->fed;
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.busy_seconds += step_seconds;
    stats_.generated_tokens += generated;
    stats_.running = scheduler_.running().size();
    stats_.kv_slots_used = static_cast<int64_t>(scheduler_.running().size());
    stats_.kv_tokens_used = used_tokens;
    scheduler_waiting_ = scheduler_.waiting();
  }
  for (Live& live : live_)
    if (!live.sequence.finished) finish(live, "cancelled");
  live_.clear();
}

}  // namespace vkinfer::server
