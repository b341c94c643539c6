#include "engine/runtime/synthetic_model.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "engine/core/error.h"
#include "engine/io/safetensors_writer.h"

namespace vkinfer {
namespace {

struct Builder {
  SafetensorsWriter writer;
  std::mt19937 rng{1234};
  // Small weights keep activations finite through many random layers.
  void matrix(const std::string& name, int64_t rows, int64_t cols, float scale = 0.02f) {
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> values(rows * cols);
    for (auto& v : values) v = dist(rng);
    writer.add(name, {rows, cols}, values, DType::kF16);
  }
  void vector(const std::string& name, int64_t n, float value) {
    writer.add(name, {n}, std::vector<float>(n, value), DType::kF32);
  }
};

nlohmann::json gpt2_config() {
  return {{"model_type", "gpt2"}, {"architectures", {"GPT2LMHeadModel"}}, {"vocab_size", 50257},
          {"n_positions", 1024}, {"n_embd", 768}, {"n_layer", 12}, {"n_head", 12},
          {"activation_function", "gelu_new"}, {"layer_norm_epsilon", 1e-5},
          {"bos_token_id", 50256}, {"eos_token_id", 50256}};
}

nlohmann::json llama_config() {
  // TinyLlama-1.1B's shape.
  return {{"model_type", "llama"}, {"architectures", {"LlamaForCausalLM"}}, {"vocab_size", 32000},
          {"hidden_size", 2048}, {"intermediate_size", 5632}, {"num_hidden_layers", 22},
          {"num_attention_heads", 32}, {"num_key_value_heads", 4}, {"max_position_embeddings", 2048},
          {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0}, {"hidden_act", "silu"},
          {"tie_word_embeddings", false}, {"bos_token_id", 1}, {"eos_token_id", 2}};
}

nlohmann::json bert_config() {
  return {{"model_type", "bert"}, {"architectures", {"BertForSequenceClassification"}},
          {"vocab_size", 30522}, {"hidden_size", 768}, {"num_hidden_layers", 12},
          {"num_attention_heads", 12}, {"intermediate_size", 3072}, {"hidden_act", "gelu"},
          {"max_position_embeddings", 512}, {"type_vocab_size", 2}, {"layer_norm_eps", 1e-12},
          {"id2label", {{"0", "LABEL_0"}, {"1", "LABEL_1"}}},
          {"label2id", {{"LABEL_0", 0}, {"LABEL_1", 1}}}};
}

void build_gpt2(Builder& b, const nlohmann::json& c) {
  const int64_t H = c["n_embd"], V = c["vocab_size"], P = c["n_positions"], L = c["n_layer"];
  b.matrix("transformer.wte.weight", V, H);
  b.matrix("transformer.wpe.weight", P, H);
  for (int64_t i = 0; i < L; ++i) {
    const std::string p = "transformer.h." + std::to_string(i) + ".";
    for (const char* ln : {"ln_1", "ln_2"}) {
      b.vector(p + ln + ".weight", H, 1.0f);
      b.vector(p + ln + ".bias", H, 0.0f);
    }
    b.matrix(p + "attn.c_attn.weight", H, 3 * H);
    b.vector(p + "attn.c_attn.bias", 3 * H, 0.0f);
    b.matrix(p + "attn.c_proj.weight", H, H);
    b.vector(p + "attn.c_proj.bias", H, 0.0f);
    b.matrix(p + "mlp.c_fc.weight", H, 4 * H);
    b.vector(p + "mlp.c_fc.bias", 4 * H, 0.0f);
    b.matrix(p + "mlp.c_proj.weight", 4 * H, H);
    b.vector(p + "mlp.c_proj.bias", H, 0.0f);
  }
  b.vector("transformer.ln_f.weight", H, 1.0f);
  b.vector("transformer.ln_f.bias", H, 0.0f);
}

void build_llama(Builder& b, const nlohmann::json& c) {
  const int64_t H = c["hidden_size"], V = c["vocab_size"], I = c["intermediate_size"],
                L = c["num_hidden_layers"], heads = c["num_attention_heads"],
                kv = c["num_key_value_heads"];
  const int64_t D = H / heads;
  b.matrix("model.embed_tokens.weight", V, H);
  for (int64_t i = 0; i < L; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    b.vector(p + "input_layernorm.weight", H, 1.0f);
    b.vector(p + "post_attention_layernorm.weight", H, 1.0f);
    b.matrix(p + "self_attn.q_proj.weight", H, H);
    b.matrix(p + "self_attn.k_proj.weight", kv * D, H);
    b.matrix(p + "self_attn.v_proj.weight", kv * D, H);
    b.matrix(p + "self_attn.o_proj.weight", H, H);
    b.matrix(p + "mlp.gate_proj.weight", I, H);
    b.matrix(p + "mlp.up_proj.weight", I, H);
    b.matrix(p + "mlp.down_proj.weight", H, I);
  }
  b.vector("model.norm.weight", H, 1.0f);
  b.matrix("lm_head.weight", V, H);
}

void build_bert(Builder& b, const nlohmann::json& c) {
  const int64_t H = c["hidden_size"], V = c["vocab_size"], I = c["intermediate_size"],
                L = c["num_hidden_layers"], P = c["max_position_embeddings"];
  b.matrix("bert.embeddings.word_embeddings.weight", V, H);
  b.matrix("bert.embeddings.position_embeddings.weight", P, H);
  b.matrix("bert.embeddings.token_type_embeddings.weight", 2, H);
  b.vector("bert.embeddings.LayerNorm.weight", H, 1.0f);
  b.vector("bert.embeddings.LayerNorm.bias", H, 0.0f);
  for (int64_t i = 0; i < L; ++i) {
    const std::string p = "bert.encoder.layer." + std::to_string(i) + ".";
    for (const char* name : {"attention.self.query", "attention.self.key", "attention.self.value",
                             "attention.output.dense"}) {
      b.matrix(p + name + ".weight", H, H);
      b.vector(p + name + ".bias", H, 0.0f);
    }
    b.matrix(p + "intermediate.dense.weight", I, H);
    b.vector(p + "intermediate.dense.bias", I, 0.0f);
    b.matrix(p + "output.dense.weight", H, I);
    b.vector(p + "output.dense.bias", H, 0.0f);
    for (const char* ln : {"attention.output.LayerNorm", "output.LayerNorm"}) {
      b.vector(p + ln + ".weight", H, 1.0f);
      b.vector(p + ln + ".bias", H, 0.0f);
    }
  }
  b.matrix("bert.pooler.dense.weight", H, H);
  b.vector("bert.pooler.dense.bias", H, 0.0f);
  b.matrix("classifier.weight", 2, H);
  b.vector("classifier.bias", 2, 0.0f);
}

}  // namespace

std::filesystem::path synthetic_model(const std::string& name, const std::filesystem::path& cache_root) {
  nlohmann::json config;
  if (name == "gpt2-124m") config = gpt2_config();
  else if (name == "llama-1b") config = llama_config();
  else if (name == "bert-base") config = bert_config();
  else
    fail(ErrorCode::kInvalidArgument, "--synthetic {}: known shapes are gpt2-124m, llama-1b, bert-base",
         name);
  const auto dir = cache_root / ("synthetic-" + name);
  if (std::filesystem::exists(dir / "model.safetensors")) return dir;
  std::filesystem::create_directories(dir);
  Builder builder;
  if (name == "gpt2-124m") build_gpt2(builder, config);
  else if (name == "llama-1b") build_llama(builder, config);
  else build_bert(builder, config);
  builder.writer.write(dir / "model.safetensors", {{"format", "pt"}});
  std::ofstream(dir / "config.json") << config.dump(2) << "\n";
  return dir;
}

}  // namespace vkinfer
