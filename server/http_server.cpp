// Routes and the two ways a generation goes back: one JSON body, or
// server-sent events (`data: {chunk}` per token group, then `data: [DONE]`).
// A stream whose client went away cancels its request, which frees the
// sequence's KV slot at the batcher's next step.
#include "server/http_server.h"

#include <fmt/core.h>
#include <httplib.h>

#include <chrono>
#include <thread>

#include "engine/core/error.h"

namespace vkinfer::server {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

// Completions are built as ordered_json, so fields keep OpenAI's order and
// top_logprobs maps stay best first.
void send_ordered_json(httplib::Response& res, int status, const nlohmann::ordered_json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void send_error(httplib::Response& res, const ApiError& error) { send_json(res, error.status, error.body()); }

json parse_body(const httplib::Request& req) {
  try {
    return json::parse(req.body);
  } catch (const json::parse_error& e) {
    throw ApiError(400, fmt::format("the body is not valid JSON: {}", e.what()));
  }
}

std::string sse(const nlohmann::ordered_json& chunk) { return "data: " + chunk.dump() + "\n\n"; }

// Unicode code points, as OpenAI's text_offset counts them.
int64_t code_points(const std::string& text) {
  int64_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

// The tokens a generation reports, in order, with their offsets in the
// completion text; a stream takes them out as their text goes out.
struct LogprobTrail {
  int32_t previous = -1;  // the id before the next token
  int64_t offset = 0;     // code points of the text so far
  std::vector<ReportedToken> pending;
  size_t ready = 0;       // pending[0, ready): tokens whose text has gone out

  void add(const ServeEvent& e) {
    if (e.has_logprobs) pending.push_back({previous, e.logprobs, offset});
    if (e.token >= 0) previous = e.token;
    offset += code_points(e.text);
    if (!e.text.empty()) ready = pending.size();
  }
  std::vector<ReportedToken> take(size_t count) {
    std::vector<ReportedToken> out(pending.begin(), pending.begin() + count);
    pending.erase(pending.begin(), pending.begin() + count);
    ready -= count;
    return out;
  }
};

}  // namespace

HttpServer::HttpServer(HttpOptions options) : options_(std::move(options)), http_(std::make_unique<httplib::Server>()) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  const int threads = options_.threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(options_.max_body_bytes);
  const auto idle = static_cast<time_t>(options_.idle_timeout_s);
  http_->set_read_timeout(idle);
  http_->set_write_timeout(idle);
  http_->set_keep_alive_timeout(idle);
  routes();
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.host);
    if (port_ <= 0) fail(ErrorCode::kInvalidArgument, "cannot listen on {}: no free port", options_.host);
  } else if (!http_->bind_to_port(options_.host, options_.port)) {
    fail(ErrorCode::kInvalidArgument, "cannot listen on {}:{} (in use, or not an address of this machine). "
         "HINT: pick another --port or --host", options_.host, options_.port);
  } else {
    port_ = options_.port;
  }
  thread_ = std::thread([this] { http_->listen_after_bind(); });
}

void HttpServer::ready(Batcher& batcher, ServedModel model) {
  model_ = std::move(model);
  batcher_ = &batcher;
}

void HttpServer::ready(EmbeddingService& embedder, ServedModel model, EmbeddingModel embedding) {
  model_ = std::move(model);
  embedding_ = std::move(embedding);
  embedder_ = &embedder;
}

void HttpServer::stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

void HttpServer::routes() {
  httplib::Server& http = *http_;
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (batcher_ || embedder_) send_json(res, 200, {{"status", "ok"}});
    else send_json(res, 503, {{"status", "loading"}});
  });

  // Every other route needs the model: 503 while it loads.
  auto loaded = [this](httplib::Response& res) {
    if (batcher_ || embedder_) return true;
    send_error(res, ApiError(503, "the model is still loading", "server_error", "loading"));
    return false;
  };

  http.Get("/v1/models", [this, loaded](const httplib::Request&, httplib::Response& res) {
    if (!loaded(res)) return;
    send_json(res, 200,
              {{"object", "list"},
               {"data", json::array({{{"id", model_.name}, {"object", "model"}, {"created", 0},
                                      {"owned_by", "vkinfer"}}})}});
  });

  http.Post("/tokenize", [this, loaded](const httplib::Request& req, httplib::Response& res) {
    if (!loaded(res)) return;
    try {
      const json body = parse_body(req);
      if (!model_.tokenizer) throw ApiError(400, "this model has no tokenizer");
      if (!body.is_object() || !body.contains("content") || !body["content"].is_string())
        throw ApiError(400, "'content' must be a string");
      bool add_special = true;
      if (body.contains("add_special")) {
        if (!body["add_special"].is_boolean()) throw ApiError(400, "'add_special' must be true or false");
        add_special = body["add_special"].get<bool>();
      }
      send_json(res, 200, {{"tokens", model_.tokenizer->encode(body["content"].get<std::string>(), add_special).ids}});
    } catch (const ApiError& e) {
      send_error(res, e);
    }
  });

  http.Post("/detokenize", [this, loaded](const httplib::Request& req, httplib::Response& res) {
    if (!loaded(res)) return;
    try {
      const json body = parse_body(req);
      if (!model_.tokenizer) throw ApiError(400, "this model has no tokenizer");
      if (!body.is_object() || !body.contains("tokens") || !body["tokens"].is_array())
        throw ApiError(400, "'tokens' must be a list of token ids");
      std::vector<int32_t> ids;
      for (const json& id : body["tokens"]) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= model_.vocab_size)
          throw ApiError(400, fmt::format("token {} is not an id in [0, {})", id.dump(), model_.vocab_size));
        ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
      }
      send_json(res, 200, {{"content", model_.tokenizer->decode(ids)}});
    } catch (const ApiError& e) {
      send_error(res, e);
    }
  });

  auto generate = [this, loaded](bool chat) {
    return [this, loaded, chat](const httplib::Request& req, httplib::Response& res) {
      if (!loaded(res)) return;
      if (embedder_) {
        ++http_errors_;
        return send_error(res, ApiError(400, fmt::format("'{}' is an embedding model: it serves /v1/embeddings, "
                                                         "not completions", model_.name),
                                        "invalid_request_error", "model_not_supported"));
      }
      ParsedRequest parsed;
      try {
        parsed = parse_request(parse_body(req), model_, chat);
      } catch (const ApiError& e) {
        ++http_errors_;
        return send_error(res, e);
      }
      std::shared_ptr<ServeRequest> request = parsed.request;
      const int64_t prompt_tokens = static_cast<int64_t>(request->prompt.size());
      if (!batcher_.load()->submit(request))
        return send_error(res, ApiError(503, "the server is busy: its request queue is full. Retry later",
                                        "server_error", "queue_full"));
      const std::string id = fmt::format("{}-{}", chat ? "chatcmpl" : "cmpl", next_id_++);
      const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(options_.request_timeout_s));
      const int logprobs = request->logprobs;
      auto trail = std::make_shared<LogprobTrail>();
      trail->previous = request->prompt.back();
      if (!parsed.stream) {
        std::string text, reason;
        int64_t tokens = 0;
        std::vector<ServeEvent> events;
        while (reason.empty()) {
          if (Clock::now() > deadline) request->cancel();
          events.clear();
          request->wait(events, std::chrono::milliseconds(200));
          for (const ServeEvent& e : events) {
            trail->add(e);
            text += e.text;
            if (e.token >= 0) ++tokens;
            if (e.done) reason = e.finish_reason;
          }
        }
        nlohmann::ordered_json lp = nullptr;
        if (logprobs >= 0) lp = logprobs_json(trail->pending, chat, logprobs, model_.tokenizer);
        return send_ordered_json(res, 200,
                                 completion_response(id, model_.name, chat, text, reason, prompt_tokens, tokens, lp));
      }
      res.set_header("Cache-Control", "no-cache");
      auto first = std::make_shared<bool>(true);
      auto streamed_tokens = std::make_shared<int64_t>(0);
      const bool include_usage = parsed.include_usage;
      res.set_chunked_content_provider(
          "text/event-stream",
          [this, request, id, chat, deadline, first, trail, logprobs, streamed_tokens, include_usage,
           prompt_tokens](size_t, httplib::DataSink& sink) {
            std::vector<ServeEvent> events;
            if (Clock::now() > deadline) request->cancel();
            if (!sink.is_writable()) {
              request->cancel();
              return false;
            }
            if (!request->wait(events, std::chrono::milliseconds(200))) return true;
            // The tokens of this wake-up go out as one chunk; the finish
            // reason in a chunk of its own, as OpenAI sends it.
            std::string text, reason;
            for (const ServeEvent& e : events) {
              trail->add(e);
              text += e.text;
              if (e.token >= 0) ++*streamed_tokens;
              if (e.done) reason = e.finish_reason;
            }
            // A token's logprobs go out with the chunk that carries its
            // text: one whose text is held back (part of a UTF-8
            // character) waits for a later chunk, and the last text chunk
            // takes whatever is left (tokens that never had text).
            const size_t count = reason.empty() ? trail->ready : trail->pending.size();
            nlohmann::ordered_json lp = nullptr;
            if (logprobs >= 0 && count > 0) lp = logprobs_json(trail->take(count), chat, logprobs, model_.tokenizer);
            std::string out;
            if (!text.empty() || *first || !lp.is_null())
              out += sse(stream_chunk(id, model_.name, chat, text, "", *first, lp));
            *first = false;
            if (!reason.empty()) {
              out += sse(stream_chunk(id, model_.name, chat, "", reason, false));
              if (include_usage) out += sse(usage_chunk(id, model_.name, chat, prompt_tokens, *streamed_tokens));
              out += "data: [DONE]\n\n";
            }
            if (!out.empty() && !sink.write(out.data(), out.size())) {
              request->cancel();
              return false;
            }
            if (!reason.empty()) sink.done();
            return true;
          },
          [request](bool success) {
            if (!success) request->cancel();
          });
    };
  };
  http.Post("/v1/completions", generate(false));
  http.Post("/v1/chat/completions", generate(true));

  http.Post("/v1/embeddings", [this, loaded](const httplib::Request& req, httplib::Response& res) {
    if (!loaded(res)) return;
    try {
      EmbeddingService* embedder = embedder_;
      if (!embedder)
        throw ApiError(400, fmt::format("'{}' is not an embedding model: it serves completions, not /v1/embeddings",
                                        model_.name),
                       "invalid_request_error", "model_not_supported");
      send_json(res, 200, serve_embeddings(*embedder, embedding_, parse_body(req), options_.request_timeout_s));
    } catch (const ApiError& e) {
      if (e.status < 500) ++http_errors_;
      send_error(res, e);
    }
  });

  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    if (EmbeddingService* embedder = embedder_)
      return res.set_content(embedding_metrics(embedder->stats(), http_errors_, true), "text/plain; version=0.0.4");
    std::string out;
    auto metric = [&](const char* name, const char* type, const char* help, double value) {
      out += fmt::format("# HELP vkinfer_{} {}\n# TYPE vkinfer_{} {}\nvkinfer_{} {}\n", name, help, name, type, name, value);
    };
    const BatcherStats s = batcher_ ? batcher_.load()->stats() : BatcherStats{};
    metric("requests_total", "counter", "Generation requests admitted.", double(s.requests));
    metric("request_errors_total", "counter", "Requests refused with a 4xx before admission.", double(http_errors_));
    metric("prompt_tokens_total", "counter", "Prompt tokens admitted.", double(s.prompt_tokens));
    metric("generation_tokens_total", "counter", "Tokens generated.", double(s.generated_tokens));
    metric("generation_tokens_per_second", "gauge", "Tokens generated per second of engine steps.",
           s.busy_seconds > 0 ? double(s.generated_tokens) / s.busy_seconds : 0.0);
    metric("queue_length", "gauge", "Requests waiting for the batcher.", double(s.queued));
    metric("running_sequences", "gauge", "Sequences holding a KV-cache slot.", double(s.running));
    metric("kv_cache_slots_used_ratio", "gauge", "KV-cache slots in use.",
           s.kv_slots > 0 ? double(s.kv_slots_used) / double(s.kv_slots) : 0.0);
    metric("kv_cache_tokens_used_ratio", "gauge", "KV-cache positions written by running sequences.",
           s.kv_tokens > 0 ? double(s.kv_tokens_used) / double(s.kv_tokens) : 0.0);
    metric("kv_cache_pages", "gauge", "Pages of the KV cache's pool.", double(s.kv_pages));
    metric("kv_cache_pages_used", "gauge", "KV-cache pages reserved by running sequences.",
           double(s.kv_pages_used));
    metric("kv_cache_usage_ratio", "gauge", "Share of the KV cache's pages reserved.",
           s.kv_pages > 0 ? double(s.kv_pages_used) / double(s.kv_pages) : 0.0);
    metric("ready", "gauge", "1 once the model is loaded.", batcher_ ? 1.0 : 0.0);
    res.set_content(out, "text/plain; version=0.0.4");
  });

  // Unknown routes and methods, bodies over the limit: OpenAI-style bodies.
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message = fmt::format("{} {} is not an endpoint of this server", req.method, req.path);
    if (res.status == 413) message = "the request body is too large";
    res.set_content(ApiError(res.status, message, "invalid_request_error",
                             res.status == 404 ? "not_found" : "").body().dump(),
                    "application/json");
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
    std::string message = "internal error";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      message = e.what();
    } catch (...) {
    }
    send_error(res, ApiError(500, message, "server_error"));
  });
}

}  // namespace vkinfer::server
