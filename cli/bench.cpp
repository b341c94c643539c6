// `vkinfer bench`: prefill and decode throughput of a decoder (a model
// folder or a synthetic shape), medians over repetitions after warm-up, with
// an optional per-op GPU profile from timestamp queries.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/commands.h"
#include "cli/options.h"
#include "engine/core/error.h"
#include "engine/runtime/engine.h"
#include "engine/runtime/scheduler.h"
#include "engine/runtime/classifier.h"
#include "engine/model/config.h"
#include "engine/vk/instance.h"
#include "engine/model/load_decoder.h"
#include "engine/runtime/generator.h"
#include "engine/runtime/speculative.h"
#include "engine/runtime/synthetic_model.h"
#include "engine/vk/device.h"
#include "partition/ranks.h"

namespace vkinfer::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchFlags {
  std::string model;
  std::string synthetic;
  std::string prompt_lengths = "128,512";
  std::string batches = "1";  // BERT: sequences per forward
  int64_t decode_tokens = 32;
  int64_t decode_depth = 128;
  int reps = 5;
  int warmup = 1;
  bool json = false;
  bool profile = false;
  std::string draft_model;   // also measure speculative decoding with this draft
  int64_t draft_tokens = 4;
  RunFlags run;
};

struct Stats {
  double median = 0, min = 0, max = 0;
};

Stats summarize(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  Stats stats;
  if (values.empty()) return stats;
  const size_t n = values.size();
  stats.median = n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
  stats.min = values.front();
  stats.max = values.back();
  return stats;
}

nlohmann::json stats_json(const Stats& s) { return {{"median", s.median}, {"min", s.min}, {"max", s.max}}; }

// Prefill of a random prompt through the Engine and a Scheduler, chunked as
// a request's would be, up to its first token; returns seconds. The sequence
// stays in its slot (for decoding after) when `keep` is given, else retires.
// `profile`, when given, collects the per-op timings of every step (a
// profiling stream keeps only those of its last finish()).
double time_prefill(Engine& engine, Scheduler& scheduler, vk::CommandStream& stream, int64_t length,
                    std::mt19937& rng, std::vector<vk::OpTiming>* profile = nullptr,
                    Sequence* keep = nullptr) {
  std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(engine.decoder().config().vocab_size - 1));
  Sequence local;
  Sequence& sequence = keep ? *keep : local;
  sequence = Sequence();
  for (int64_t t = 0; t < length; ++t) sequence.prompt.push_back(token(rng));
  scheduler.submit(&sequence);
  const auto start = Clock::now();
  while (sequence.generated.empty()) {
    const std::vector<int32_t> tokens = engine.step(stream, scheduler.plan());
    if (tokens[0] >= 0) sequence.generated.push_back(tokens[0]);
    if (profile) profile->insert(profile->end(), stream.timings().begin(), stream.timings().end());
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!keep) scheduler.retire(&sequence);
  return seconds;
}

// `steps` decode steps (forward + sample) of a prefilled sequence, which is
// then rewound to where it was, so every repetition decodes at the same depth.
double time_decode(Engine& engine, Scheduler& scheduler, vk::CommandStream& stream, Sequence& sequence,
                   int64_t steps) {
  const int64_t fed = sequence.fed;
  const size_t generated = sequence.generated.size();
  const auto start = Clock::now();
  for (int64_t s = 0; s < steps; ++s)
    sequence.generated.push_back(engine.step(stream, scheduler.plan())[0]);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  engine.cache().truncate(sequence.slot, fed);
  sequence.fed = fed;
  sequence.generated.resize(generated);
  return seconds;
}

void print_profile(const std::vector<vk::OpTiming>& timings, const char* title) {
  std::map<std::string, vk::OpTiming> by_op;
  double total = 0;
  for (const auto& t : timings) {
    auto& entry = by_op[t.label];
    entry.label = t.label;
    entry.ns += t.ns;
    entry.cost.bytes += t.cost.bytes;
    entry.cost.flops += t.cost.flops;
    total += t.ns;
  }
  std::vector<vk::OpTiming> sorted;
  for (auto& [label, entry] : by_op) sorted.push_back(entry);
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.ns > b.ns; });
  fmt::print("\n{} ({} dispatches, {:.2f} ms GPU)\n", title, timings.size(), total / 1e6);
  fmt::print("  {:<16} {:>10} {:>7} {:>10} {:>10}\n", "op", "ms", "share", "GB/s", "GFLOPS");
  for (const auto& op : sorted)
    fmt::print("  {:<16} {:>10.3f} {:>6.1f}% {:>10.2f} {:>10.2f}\n", op.label, op.ns / 1e6,
               100.0 * op.ns / total, op.cost.bytes / op.ns, op.cost.flops / op.ns);
}

// BERT: sequences/s per bucket and batch, every input filling its bucket.
int run_encoder_bench(const BenchFlags& flags, const std::string& model) {
  auto instance = vk::Instance::create();
  std::vector<int> buckets = parse_int_list(flags.run.buckets.empty() ? "128" : flags.run.buckets, "--buckets");
  std::vector<int> batches = parse_int_list(flags.batches, "--batch");
  nlohmann::json rows = nlohmann::json::array();
  std::string device_name;
  for (int batch : batches) {
    ClassifierOptions options;
    options.dtype = flags.run.dtype();
    options.buckets.assign(buckets.begin(), buckets.end());
    options.batch = batch;
    auto classifier = Classifier::load(*instance, model, options);
    std::mt19937 rng(11);
    // Ordinary word ids: past the special tokens at the start of the vocab.
    const int32_t vocab = static_cast<int32_t>(classifier->config().vocab_size);
    std::uniform_int_distribution<int32_t> token(std::min(1000, vocab / 2), vocab - 1);
    for (int bucket : buckets) {
      std::vector<EncoderInput> inputs(batch);
      for (auto& input : inputs) {
        input.ids.assign(bucket, 0);
        for (auto& id : input.ids) id = token(rng);
        input.type_ids.assign(bucket, 0);
      }
      for (int i = 0; i < flags.warmup; ++i) classifier->classify(inputs);
      std::vector<double> rates;
      for (int i = 0; i < flags.reps; ++i) {
        const auto start = Clock::now();
        classifier->classify(inputs);
        rates.push_back(batch / std::chrono::duration<double>(Clock::now() - start).count());
      }
      const Stats stats = summarize(rates);
      rows.push_back({{"bucket", bucket}, {"batch", batch}, {"sequences_per_s", stats_json(stats)}});
      if (!flags.json)
        fmt::print("  bucket {:>4} batch {:>3}: {:>9.2f} sequences/s  (min {:.2f}, max {:.2f})\n", bucket,
                   batch, stats.median, stats.min, stats.max);
    }
  }
  if (flags.json)
    fmt::print("{}\n", nlohmann::json({{"model", model}, {"dtype", flags.run.dtype_name},
                                       {"reps", flags.reps}, {"warmup", flags.warmup},
                                       {"encoder", rows}}).dump());
  return 0;
}

int run_bench(const BenchFlags& flags) {
  std::string model = flags.model;
  if (model.empty() && flags.synthetic.empty())
    fail(ErrorCode::kInvalidArgument, "give --model DIR or --synthetic gpt2-124m|llama-1b|bert-base");
  if (model.empty()) model = synthetic_model(flags.synthetic, cache_root()).string();
  if (!ModelConfig::load(model).is_decoder()) return run_encoder_bench(flags, model);
  if (flags.reps < 1 || flags.warmup < 0)
    fail(ErrorCode::kInvalidArgument, "--reps must be >= 1 and --warmup >= 0");
  std::vector<int> lengths = parse_int_list(flags.prompt_lengths, "-p");
  for (int length : lengths)
    if (length < 1) fail(ErrorCode::kInvalidArgument, "-p lengths must be >= 1");

  nlohmann::json report;
  std::mutex report_mutex;
  run_ranks(flags.run.rank_options(), [&](RankContext& rank) {
    DecoderLimits limits;
    limits.batch = 1;
    limits.quant = flags.run.quant;
    const int64_t longest = *std::max_element(lengths.begin(), lengths.end());
    limits.ctx = flags.run.ctx > 0 ? flags.run.ctx
                                   : std::max<int64_t>(longest, flags.decode_depth + flags.decode_tokens) + 1;
    limits.max_rows_per_seq = std::min<int64_t>(flags.run.max_prefill_rows, limits.ctx);
    // Speculative decoding verifies K + 1 rows and needs every row's logits.
    limits.all_logits = !flags.draft_model.empty();
    const StageRange stage =
        flags.run.stages(ModelConfig::load(model).decoder().num_layers).at(rank.coord.stage);
    auto decoder = load_decoder(model, rank.device, rank.comm, flags.run.dtype(), limits, stage);
    if (limits.ctx < flags.decode_depth + flags.decode_tokens)
      fail(ErrorCode::kInvalidArgument, "--ctx is smaller than the decode depth + tokens");
    if (flags.decode_depth < 1) fail(ErrorCode::kInvalidArgument, "--depth must be >= 1");
    Engine engine(*decoder, {&rank.pp, flags.run.microbatches});
    Scheduler scheduler(engine.cache(), engine.max_rows(), engine.max_chunk());
    vk::CommandStream stream(rank.device);
    std::mt19937 rng(7);

    nlohmann::json prefill = nlohmann::json::array();
    for (int length : lengths) {
      for (int i = 0; i < flags.warmup; ++i) time_prefill(engine, scheduler, stream, length, rng);
      std::vector<double> rates;
      for (int i = 0; i < flags.reps; ++i)
        rates.push_back(length / time_prefill(engine, scheduler, stream, length, rng));
      prefill.push_back({{"prompt_tokens", length}, {"tokens_per_s", stats_json(summarize(rates))}});
    }
    Sequence decoding;  // filled to the depth, then decoded from there each repetition
    time_prefill(engine, scheduler, stream, flags.decode_depth, rng, nullptr, &decoding);
    for (int i = 0; i < flags.warmup; ++i) time_decode(engine, scheduler, stream, decoding, 4);
    std::vector<double> decode_rates, latencies;
    const double comm_before = rank.comm.seconds_in_collectives();
    double decode_total = 0;
    for (int i = 0; i < flags.reps; ++i) {
      const double seconds = time_decode(engine, scheduler, stream, decoding, flags.decode_tokens);
      decode_total += seconds;
      decode_rates.push_back(flags.decode_tokens / seconds);
      latencies.push_back(1e3 * seconds / flags.decode_tokens);
    }
    const double comm_share = decode_total > 0 ? (rank.comm.seconds_in_collectives() - comm_before) / decode_total : 0;

    std::vector<vk::OpTiming> decode_profile, prefill_profile;
    if (flags.profile && rank.world.world() == 1) {
      vk::CommandStream profiled(rank.device, {.profile = true});
      time_decode(engine, scheduler, profiled, decoding, 1);
      decode_profile = profiled.timings();
      scheduler.retire(&decoding);
      time_prefill(engine, scheduler, profiled, lengths.front(), rng, &prefill_profile);
    }
    // Speculative decoding against the target alone, both by the same
    // clock: greedy generation of decode_tokens tokens after a prompt of the
    // first prefill length, the same prompt each repetition pair.
    nlohmann::json speculative;
    if (!flags.draft_model.empty()) {
      if (rank.topology.pp != 1) fail(ErrorCode::kInvalidArgument, "--draft-model does not combine with --pp");
      if (decoding.slot >= 0) scheduler.retire(&decoding);  // the one KV slot
      auto single = make_single_communicator();
      DecoderLimits draft_limits;
      draft_limits.ctx = limits.ctx;
      draft_limits.quant = limits.quant;
      draft_limits.max_rows_per_seq = limits.max_rows_per_seq;
      auto draft = load_decoder(flags.draft_model, rank.device, *single, flags.run.dtype(), draft_limits);
      Engine draft_engine(*draft);
      SpeculativeGenerator speculative_generator(engine, draft_engine, flags.draft_tokens);
      Generator plain(engine);
      GenerateOptions options;
      options.max_new_tokens = flags.decode_tokens;
      options.ignore_eos = true;
      std::vector<double> plain_rates, spec_rates, acceptance, per_forward;
      for (int i = 0; i < flags.warmup + flags.reps; ++i) {
        std::vector<int32_t> prompt(lengths.front());
        for (int32_t& id : prompt) id = static_cast<int32_t>(rng() % decoder->config().vocab_size);
        const GenerateResult alone = plain.run({prompt}, options);
        SpeculativeStats stats;
        const GenerateResult spec = speculative_generator.run(prompt, options, {}, &stats);
        if (i < flags.warmup) continue;
        plain_rates.push_back(alone.decode_tokens_per_s());
        spec_rates.push_back(spec.decode_tokens_per_s());
        acceptance.push_back(stats.acceptance_rate());
        per_forward.push_back(stats.tokens_per_target_forward());
      }
      const double plain_median = summarize(plain_rates).median, spec_median = summarize(spec_rates).median;
      speculative = {{"draft_model", flags.draft_model},
                     {"draft_tokens", flags.draft_tokens},
                     {"target_alone_tokens_per_s", stats_json(summarize(plain_rates))},
                     {"tokens_per_s", stats_json(summarize(spec_rates))},
                     {"acceptance_rate", summarize(acceptance).median},
                     {"tokens_per_target_forward", summarize(per_forward).median},
                     {"speedup", plain_median > 0 ? spec_median / plain_median : 0.0}};
    }
    if (rank.comm.rank() != 0 || !stage.has_head) return;  // the last stage reports
    std::lock_guard<std::mutex> lock(report_mutex);
    const Stats decode = summarize(decode_rates);
    report = {{"model", model},
              {"device", rank.device.info().name},
              {"dtype", flags.run.dtype_name},
              {"tp", rank.comm.world()},
              {"pp", rank.topology.pp},
              {"reps", flags.reps},
              {"warmup", flags.warmup},
              {"prefill", prefill},
              {"prefill_tokens_per_s", prefill[0]["tokens_per_s"]["median"]},
              {"decode_tokens_per_s", decode.median},
              {"decode", {{"tokens", flags.decode_tokens}, {"depth", flags.decode_depth},
                          {"tokens_per_s", stats_json(decode)},
                          {"latency_ms", stats_json(summarize(latencies))},
                          {"collective_share", comm_share}}},
              {"weights_mib", decoder->weight_bytes() / 1048576.0}};
    if (!speculative.is_null()) report["speculative"] = speculative;
    if (!flags.json) {
      fmt::print("model {} on {} (dtype {}, tp {}, pp {}), median of {} runs after {} warm-up\n", model,
                 rank.device.info().name, flags.run.dtype_name, rank.comm.world(), rank.topology.pp,
                 flags.reps, flags.warmup);
      for (const auto& p : prefill)
        fmt::print("  prefill {:>5} tokens: {:>9.1f} tokens/s  (min {:.1f}, max {:.1f})\n",
                   p["prompt_tokens"].get<int>(), p["tokens_per_s"]["median"].get<double>(),
                   p["tokens_per_s"]["min"].get<double>(), p["tokens_per_s"]["max"].get<double>());
      fmt::print("  decode  {:>5} tokens at depth {}: {:>9.1f} tokens/s  (min {:.1f}, max {:.1f}), "
                 "{:.2f} ms/token, {:.1f}% in collectives\n", flags.decode_tokens, flags.decode_depth,
                 decode.median, decode.min, decode.max, summarize(latencies).median, 100 * comm_share);
      if (!speculative.is_null())
        fmt::print("  speculative, K = {}: {:.1f} tokens/s against {:.1f} for the target alone "
                   "(speed-up {:.2f}x), draft acceptance {:.1f}%, {:.2f} tokens per target forward\n",
                   flags.draft_tokens, speculative["tokens_per_s"]["median"].get<double>(),
                   speculative["target_alone_tokens_per_s"]["median"].get<double>(),
                   speculative["speedup"].get<double>(), 100 * speculative["acceptance_rate"].get<double>(),
                   speculative["tokens_per_target_forward"].get<double>());
      if (!decode_profile.empty()) print_profile(decode_profile, "decode step profile");
      if (!prefill_profile.empty()) print_profile(prefill_profile, "prefill profile");
    }
  });
  if (flags.json) fmt::print("{}\n", report.dump());
  return 0;
}

}  // namespace

Command add_bench_command(CLI::App& app) {
  auto flags = std::make_shared<BenchFlags>();
  auto* command = app.add_subcommand(
      "bench", "Measure prefill and decode tokens/s (medians over --reps after --warmup) of a model "
               "folder or a synthetic shape (random weights, nothing to download)");
  command->add_option("--model", flags->model, "Hugging Face model folder");
  command->add_option("--synthetic", flags->synthetic, "gpt2-124m | llama-1b | bert-base");
  command->add_option("--batch", flags->batches, "BERT: batch sizes to measure, e.g. 1,8");
  command->add_option("-p,--prompt-lengths", flags->prompt_lengths, "Prefill lengths, e.g. 128,512");
  command->add_option("-n,--decode-tokens", flags->decode_tokens, "Decode steps per repetition");
  command->add_option("--depth", flags->decode_depth, "Context depth at which decode is measured");
  command->add_option("--reps", flags->reps, "Timed repetitions (median reported)");
  command->add_option("--warmup", flags->warmup, "Untimed warm-up repetitions");
  command->add_flag("--json", flags->json, "One JSON object with medians, spread and settings");
  command->add_flag("--profile", flags->profile, "Per-op GPU time from timestamp queries, with GB/s and GFLOPS");
  command->add_option("--draft-model", flags->draft_model,
                      "Also measure speculative decoding with this draft against the target alone");
  command->add_option("--draft-tokens", flags->draft_tokens, "Draft tokens per target forward (default 4)");
  add_run_flags(command, flags->run);
  add_pipeline_flags(command, flags->run);
  return {command, [flags] { return run_bench(*flags); }};
}

}  // namespace vkinfer::cli
