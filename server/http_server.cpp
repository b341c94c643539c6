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

void send_error(httplib::Response& res, const ApiError& error) { send_json(res, error.status, error.body()); }

json parse_body(const httplib::Request& req) {
  try {
    return json::parse(req.body);
  } catch (const json::parse_error& e) {
    throw ApiError(400, fmt::format("the body is not valid JSON: {}", e.what()));
  }
}

std::string sse(const json& chunk) { return "data: " + chunk.dump() + "\n\n"; }

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

void HttpServer::stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

void HttpServer::routes() {
  httplib::Server& http = *http_;
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (batcher_) send_json(res, 200, {{"status", "ok"}});
    else send_json(res, 503, {{"status", "loading"}});
  });

  // Every other route needs the model: 503 while it loads.
  auto loaded = [this](httplib::Response& res) {
    if (batcher_) return true;
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
      if (!parsed.stream) {
        std::string text, reason;
        int64_t tokens = 0;
        std::vector<ServeEvent> events;
        while (reason.empty()) {
          if (Clock::now() > deadline) request->cancel();
          events.clear();
          request->wait(events, std::chrono::milliseconds(200));
          for (const ServeEvent& e : events) {
            text += e.text;
            if (e.token >= 0) ++tokens;
            if (e.done) reason = e.finish_reason;
          }
        }
        return send_json(res, 200, completion_response(id, model_.name, chat, text, reason, prompt_tokens, tokens));
      }
      res.set_header("Cache-Control", "no-cache");
      auto first = std::make_shared<bool>(true);
      res.set_chunked_content_provider(
          "text/event-stream",
          [this, request, id, chat, deadline, first](size_t, httplib::DataSink& sink) {
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
              text += e.text;
              if (e.done) reason = e.finish_reason;
            }
            std::string out;
            if (!text.empty() || *first) out += sse(stream_chunk(id, model_.name, chat, text, "", *first));
            *first = false;
            if (!reason.empty()) out += sse(stream_chunk(id, model_.name, chat, "", reason, false)) + "data: [DONE]\n\n";
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

  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
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
    metric("kv_cache_tokens_used_ratio", "gauge", "KV-cache positions in use.",
           s.kv_tokens > 0 ? double(s.kv_tokens_used) / double(s.kv_tokens) : 0.0);
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
