// Tokenizer::load(): reads a Hugging Face tokenizer folder and builds the
// matching pipeline. tokenizer.json wins when present (as in transformers'
// fast tokenizers): each of its components is built by its own registry
// (tokenizer_normalizer.h, tokenizer_pretokenizer.h, tokenizer_models.h,
// tokenizer_decoder.h, and the post-processors here); otherwise the classic
// slow-tokenizer files are used.
// Options and special tokens come from tokenizer_config.json,
// special_tokens_map.json and config.json, with the defaults the
// transformers tokenizer classes use when a field is absent.
#include <climits>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

#include "engine/core/error.h"
#include "engine/text/tokenizer_models.h"
#include "engine/text/tokenizer_pipeline.h"

namespace vkinfer {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace tokenizer_detail;

namespace {

struct FolderConfig {
  fs::path dir;
  json tokenizer_config = json::object();
  json special_tokens_map = json::object();
  json model_config = json::object();
};

json read_optional_json(const fs::path& path) {
  if (!fs::exists(path)) return json::object();
  json j = read_json_file(path);
  if (!j.is_object()) fail(ErrorCode::kBadFile, "{}: expected a JSON object at the top level", path.string());
  return j;
}

// A special token in tokenizer_config.json / special_tokens_map.json is a
// string or an AddedToken object {"content": ...}; null means "none".
std::optional<std::string> token_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    return value["content"].get<std::string>();
  }
  return std::nullopt;
}

// Returns the configured token, `fallback` when the field is absent, and
// nullopt when it is explicitly null.
std::optional<std::string> special_token(const FolderConfig& cfg, const char* field,
                                         std::optional<std::string> fallback) {
  for (const json* source : {&cfg.tokenizer_config, &cfg.special_tokens_map}) {
    if (source->contains(field)) return token_text((*source)[field]);
  }
  return fallback;
}

template <typename T>
T config_value(const FolderConfig& cfg, const char* field, T fallback) {
  const json& tc = cfg.tokenizer_config;
  if (tc.contains(field) && !tc[field].is_null()) {
    try {
      return tc[field].get<T>();
    } catch (const json::exception&) {
      fail(ErrorCode::kBadFile, "{}: field '{}' has the wrong type", (cfg.dir / "tokenizer_config.json").string(),
           field);
    }
  }
  return fallback;
}

// Walks a JSON field with a clear error naming the file when it is missing or
// of the wrong kind.
const json& require(const json& parent, const char* field, json::value_t kind, const fs::path& file) {
  if (!parent.is_object() || !parent.contains(field)) {
    fail(ErrorCode::kBadFile, "{}: missing field '{}'", file.string(), field);
  }
  const json& value = parent[field];
  const bool ok = kind == json::value_t::number_integer ? value.is_number_integer() : value.type() == kind;
  if (!ok) fail(ErrorCode::kBadFile, "{}: field '{}' has the wrong type", file.string(), field);
  return value;
}

bool flag(const json& obj, const char* field, bool fallback) {
  return obj.is_object() && obj.contains(field) && obj[field].is_boolean() ? obj[field].get<bool>() : fallback;
}

std::string type_of(const json& obj) {
  return obj.is_object() && obj.contains("type") && obj["type"].is_string() ? obj["type"].get<std::string>() : "";
}

void add_added_tokens_decoder(const FolderConfig& cfg, AddedVocab& added, bool slow) {
  // transformers >= 4.34 writes the added tokens into tokenizer_config.json.
  const json& tc = cfg.tokenizer_config;
  if (!tc.contains("added_tokens_decoder") || !tc["added_tokens_decoder"].is_object()) return;
  for (const auto& [key, value] : tc["added_tokens_decoder"].items()) {
    AddedToken t;
    try {
      t.id = std::stoi(key);
    } catch (const std::exception&) {
      fail(ErrorCode::kBadFile, "{}: added_tokens_decoder key '{}' is not an id",
           (cfg.dir / "tokenizer_config.json").string(), key);
    }
    t.content = token_text(value).value_or("");
    t.special = flag(value, "special", false);
    t.lstrip = flag(value, "lstrip", false);
    t.rstrip = flag(value, "rstrip", false);
    t.single_word = flag(value, "single_word", false);
    // The slow tokenizers match every added token in the raw text.
    t.normalized = !slow && flag(value, "normalized", !t.special);
    added.add(std::move(t));
  }
}

// Registers the named special tokens as special added tokens (slow
// tokenizers split them out of the text) and fills in their ids.
SpecialIds resolve_specials(const FolderConfig& cfg, AddedVocab& added,
                            const std::function<int32_t(const std::string&)>& vocab_id,
                            const std::vector<std::pair<const char*, std::optional<std::string>>>& defaults) {
  SpecialIds ids;
  auto lookup = [&](const std::string& text) {
    const int32_t a = added.find(text);
    return a >= 0 ? a : vocab_id(text);
  };
  for (const auto& [field, fallback] : defaults) {
    const std::optional<std::string> text = special_token(cfg, field, fallback);
    if (!text) continue;
    const int32_t id = lookup(*text);
    if (id < 0) continue;  // named but not in this vocabulary: HF would add it; we leave it absent
    if (const AddedToken* existing = added.find(id); existing == nullptr) {
      added.add({*text, id, true, false, false, false});
    }
    const std::string name = field;
    if (name == "bos_token") ids.bos = id;
    if (name == "eos_token") ids.eos = id;
    if (name == "pad_token") ids.pad = id;
    if (name == "cls_token") ids.cls = id;
    if (name == "sep_token") ids.sep = id;
    if (name == "unk_token") ids.unk = id;
  }
  // config.json's ids are the fallback for models that name no tokens.
  const json& mc = cfg.model_config;
  auto from_model = [&](const char* field, int32_t& id) {
    if (id < 0 && mc.contains(field) && mc[field].is_number_integer()) id = mc[field].get<int32_t>();
  };
  from_model("bos_token_id", ids.bos);
  from_model("eos_token_id", ids.eos);
  from_model("pad_token_id", ids.pad);
  return ids;
}

// Post-processors, one function per tokenizers type, registered by name.
// Each rewrites the template; a Sequence applies its parts in order (the
// ByteLevel processor only trims offsets, which we do not report).
struct PostContext {
  const fs::path& file;
  std::function<int32_t(const std::string&)> id_of;  // fails naming the token when absent
};
using PostFactory = void (*)(const json& spec, const PostContext& ctx, PostProcessor& pp);

void template_processing(const json& p, const PostContext& ctx, PostProcessor& pp) {
  const json& specials = require(p, "special_tokens", json::value_t::object, ctx.file);
  auto parse = [&](const char* field) {
    std::vector<TemplateItem> items;
    for (const json& piece : require(p, field, json::value_t::array, ctx.file)) {
      TemplateItem item;
      if (piece.contains("Sequence")) {
        const json& seq = piece["Sequence"];
        item.sequence = seq.value("id", std::string("A")) == "B" ? 1 : 0;
        item.type_id = seq.value("type_id", 0);
      } else if (piece.contains("SpecialToken")) {
        const json& sp = piece["SpecialToken"];
        const std::string name = sp.value("id", std::string());
        if (!specials.contains(name)) {
          fail(ErrorCode::kBadFile, "{}: post_processor template uses '{}' but special_tokens lacks it", ctx.file.string(), name);
        }
        item.ids = specials[name].value("ids", std::vector<int32_t>{});
        item.type_id = sp.value("type_id", 0);
      } else {
        fail(ErrorCode::kBadFile, "{}: post_processor template piece is neither Sequence nor SpecialToken", ctx.file.string());
      }
      items.push_back(std::move(item));
    }
    return items;
  };
  pp.single = parse("single");
  pp.pair = parse("pair");
}

// [CLS] A [SEP] (B [SEP]); RoBERTa doubles the middle separator and, having
// no segment embedding, keeps type id 0 throughout.
void cls_sep_processing(const json& p, const PostContext& ctx, PostProcessor& pp, bool roberta) {
  const json& cls = require(p, "cls", json::value_t::array, ctx.file);
  const json& sep = require(p, "sep", json::value_t::array, ctx.file);
  if (cls.empty() || !cls[0].is_string() || sep.empty() || !sep[0].is_string()) {
    fail(ErrorCode::kBadFile, "{}: post_processor cls/sep must be [token, id]", ctx.file.string());
  }
  const int32_t cls_id = ctx.id_of(cls[0].get<std::string>());
  const int32_t sep_id = ctx.id_of(sep[0].get<std::string>());
  const int32_t pair_type = roberta ? 0 : 1;
  pp.single = {{-1, {cls_id}, 0}, {0, {}, 0}, {-1, {sep_id}, 0}};
  pp.pair = {{-1, {cls_id}, 0}, {0, {}, 0}, {-1, {sep_id}, 0}};
  if (roberta) pp.pair.push_back({-1, {sep_id}, 0});
  pp.pair.push_back({1, {}, pair_type});
  pp.pair.push_back({-1, {sep_id}, pair_type});
}

void apply_post_processor(const json& spec, const PostContext& ctx, PostProcessor& pp);

const std::unordered_map<std::string, PostFactory>& post_registry() {
  static const std::unordered_map<std::string, PostFactory> kRegistry = {
      {"TemplateProcessing", &template_processing},
      {"BertProcessing", [](const json& p, const PostContext& c, PostProcessor& pp) { cls_sep_processing(p, c, pp, false); }},
      {"RobertaProcessing", [](const json& p, const PostContext& c, PostProcessor& pp) { cls_sep_processing(p, c, pp, true); }},
      {"ByteLevel", [](const json&, const PostContext&, PostProcessor&) {}},
      {"Sequence", [](const json& p, const PostContext& c, PostProcessor& pp) {
         for (const json& part : require(p, "processors", json::value_t::array, c.file)) apply_post_processor(part, c, pp);
       }}};
  return kRegistry;
}

void apply_post_processor(const json& spec, const PostContext& ctx, PostProcessor& pp) {
  if (spec.is_null()) return;
  const std::string type = type_of(spec);
  auto it = post_registry().find(type);
  if (it == post_registry().end()) {
    fail(ErrorCode::kUnsupported, "{}: post_processor type '{}' is not supported (supported: TemplateProcessing, "
         "BertProcessing, RobertaProcessing, ByteLevel, Sequence)", ctx.file.string(), type);
  }
  it->second(spec, ctx, pp);
}

PostProcessor template_from_json(const json& post, const AddedVocab& added, const fs::path& file,
                                 const std::function<int32_t(const std::string&)>& vocab_id) {
  PostProcessor pp;
  PostContext ctx{file, [&](const std::string& text) {
                    const int32_t a = added.find(text);
                    const int32_t id = a >= 0 ? a : vocab_id(text);
                    if (id < 0) fail(ErrorCode::kBadFile, "{}: post_processor names token '{}' which is not in the vocabulary", file.string(), text);
                    return id;
                  }};
  apply_post_processor(post, ctx, pp);
  return pp;
}

// transformers' LlamaTokenizerFast.update_post_processor(): the template is
// rebuilt from add_bos_token / add_eos_token, overriding tokenizer.json.
PostProcessor llama_template(const SpecialIds& ids, bool add_bos, bool add_eos, const fs::path& file) {
  if ((add_bos && ids.bos < 0) || (add_eos && ids.eos < 0)) {
    fail(ErrorCode::kBadFile, "{}: add_bos_token/add_eos_token is set but the tokenizer has no such token", file.string());
  }
  PostProcessor pp;
  pp.single.clear(), pp.pair.clear();
  for (int seq = 0; seq < 2; ++seq) {
    std::vector<TemplateItem> part;
    if (add_bos) part.push_back({-1, {ids.bos}, seq});
    part.push_back({seq, {}, seq});
    if (add_eos) part.push_back({-1, {ids.eos}, seq});
    if (seq == 0) pp.single = part;
    pp.pair.insert(pp.pair.end(), part.begin(), part.end());
  }
  return pp;
}

const std::vector<std::pair<const char*, std::optional<std::string>>> kNoDefaults = {
    {"bos_token", std::nullopt}, {"eos_token", std::nullopt}, {"unk_token", std::nullopt},
    {"pad_token", std::nullopt}, {"cls_token", std::nullopt}, {"sep_token", std::nullopt},
    {"mask_token", std::nullopt}};

// transformers' fast classes that rebuild the post-processor from
// add_bos_token / add_eos_token in __init__ (update_post_processor), with
// their defaults; every other class keeps tokenizer.json's post-processor.
struct BosEosDefaults {
  const char* class_prefix;
  bool add_bos, add_eos;
};
constexpr BosEosDefaults kRebuildsTemplate[] = {
    {"LlamaTokenizer", true, false}, {"CodeLlamaTokenizer", true, false}, {"GemmaTokenizer", true, false},
    {"CohereTokenizer", true, false}, {"GPTNeoXTokenizer", false, false}};

std::unique_ptr<Tokenizer> load_tokenizer_json(const FolderConfig& cfg, const json& root, const fs::path& file) {
  if (!root.is_object()) fail(ErrorCode::kBadFile, "{}: expected a JSON object at the top level", file.string());
  const json& model = require(root, "model", json::value_t::object, file);

  // normalizer -> pre_tokenizer -> model -> decoder, each from its registry.
  Normalizer normalize = Normalizer::from_json(root.value("normalizer", json()), file);
  auto pre = make_pre_tokenizer(root.value("pre_tokenizer", json()), file);
  ModelOptions options;
  // `tokenizers` leaves GPT-2's model unk_token null; transformers'
  // GPT2TokenizerFast still names <|endoftext|> as unk, which a merge result
  // missing from the vocabulary becomes.
  options.fallback_unk_token = special_token(cfg, "unk_token", "<|endoftext|>").value_or("");
  auto word_model = make_word_model(model, file, options);
  auto decoder = make_decoder(root.value("decoder", json()), file);
  std::unique_ptr<TokenModel> token_model = make_pipeline_model(std::move(pre), std::move(word_model), std::move(decoder));

  // Added tokens get their ids as tokenizers' deserializer re-derives them
  // (AddedVocabulary::add_tokens), not from the file's "id": a token already
  // in the vocabulary keeps its vocabulary id, a new one takes the next id
  // after the vocabulary or the largest added id. Real files agree with this;
  // a file that does not is read as HF reads it.
  AddedVocab added;
  if (root.contains("added_tokens") && !root["added_tokens"].is_null()) {
    if (!root["added_tokens"].is_array()) fail(ErrorCode::kBadFile, "{}: field 'added_tokens' is not an array", file.string());
    const int32_t model_size = token_model->size();
    int32_t max_added = -1;
    for (const json& t : root["added_tokens"]) {
      AddedToken a;
      require(t, "id", json::value_t::number_integer, file);
      a.content = require(t, "content", json::value_t::string, file).get<std::string>();
      a.special = flag(t, "special", false);
      a.lstrip = flag(t, "lstrip", false);
      a.rstrip = flag(t, "rstrip", false);
      a.single_word = flag(t, "single_word", false);
      a.normalized = flag(t, "normalized", !a.special);
      if (a.content.empty()) continue;
      a.id = added.find(a.content);
      if (a.id < 0) a.id = token_model->token_to_id(a.content);
      if (a.id < 0) a.id = max_added >= model_size ? max_added + 1 : model_size;
      max_added = std::max(max_added, a.id);
      added.add(std::move(a));
    }
  }


  add_added_tokens_decoder(cfg, added, false);
  TokenModel* tm = token_model.get();
  auto vocab_id = [tm](const std::string& t) { return tm->token_to_id(t); };
  const SpecialIds specials = resolve_specials(cfg, added, vocab_id, kNoDefaults);
  const std::string tokenizer_class = config_value<std::string>(cfg, "tokenizer_class", "");
  PostProcessor post = template_from_json(root.value("post_processor", json()), added, file, vocab_id);
  for (const BosEosDefaults& d : kRebuildsTemplate) {
    const std::string prefix = d.class_prefix;
    // "LlamaTokenizer" and "LlamaTokenizerFast" both load the fast class.
    if (tokenizer_class.rfind(prefix, 0) != 0 || (tokenizer_class != prefix && tokenizer_class != prefix + "Fast")) continue;
    post = llama_template(specials, config_value(cfg, "add_bos_token", d.add_bos), config_value(cfg, "add_eos_token", d.add_eos),
                          cfg.dir / "tokenizer_config.json");
  }
  return std::make_unique<PipelineTokenizer>(std::move(token_model), std::move(added), std::move(post), specials,
                                             config_value(cfg, "clean_up_tokenization_spaces", true),
                                             std::move(normalize));
}

std::unique_ptr<Tokenizer> load_tokenizer_json(const FolderConfig& cfg) {
  const fs::path file = cfg.dir / "tokenizer.json";
  return load_tokenizer_json(cfg, read_json_file(file), file);
}

std::unique_ptr<Tokenizer> load_classic_bpe(const FolderConfig& cfg) {
  const fs::path vocab_file = cfg.dir / "vocab.json", merges_file = cfg.dir / "merges.txt";
  for (const fs::path& f : {vocab_file, merges_file}) {
    if (!fs::exists(f)) fail(ErrorCode::kBadFile, "{}: not found (byte-level BPE needs vocab.json and merges.txt)", f.string());
  }
  BpeSource src;
  src.vocab_source = vocab_file.string();
  src.merges_source = merges_file.string();
  const json vocab = read_json_file(vocab_file);
  if (!vocab.is_object()) fail(ErrorCode::kBadFile, "{}: expected an object of token -> id", vocab_file.string());
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
      fail(ErrorCode::kBadFile, "{}: entry '{}' is not an integer id in [0, 2^31)", vocab_file.string(), token);
    src.vocab.emplace_back(token, id.get<int32_t>());
  }
  std::ifstream in(merges_file, std::ios::binary);
  if (!in) fail(ErrorCode::kBadFile, "{}: cannot open file", merges_file.string());
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    const size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 || line.find(' ', space + 1) != std::string::npos) {
      fail(ErrorCode::kBadFile, "{}: line {} is not of the form 'left right'", merges_file.string(), line_no);
    }
    src.merges.emplace_back(line.substr(0, space), line.substr(space + 1));
  }
  auto model = make_byte_level_bpe(
      std::move(src), ByteLevelOptions{config_value(cfg, "add_prefix_space", false),
                                       special_token(cfg, "unk_token", "<|endoftext|>").value_or("")});
  AddedVocab added;
  add_added_tokens_decoder(cfg, added, true);
  TokenModel* tm = model.get();
  // GPT2Tokenizer's defaults: <|endoftext|> is unk, bos and eos.
  const SpecialIds specials = resolve_specials(cfg, added, [tm](const std::string& t) { return tm->token_to_id(t); },
                                               {{"bos_token", "<|endoftext|>"}, {"eos_token", "<|endoftext|>"},
                                                {"unk_token", "<|endoftext|>"}, {"pad_token", std::nullopt}});
  PostProcessor post;
  if (config_value(cfg, "add_bos_token", false)) {
    if (specials.bos < 0) fail(ErrorCode::kBadFile, "{}: add_bos_token is set but there is no bos_token", (cfg.dir / "tokenizer_config.json").string());
    post.single = {{-1, {specials.bos}, 0}, {0, {}, 0}};
    post.pair = {{-1, {specials.bos}, 0}, {0, {}, 0}, {-1, {specials.bos}, 1}, {1, {}, 1}};
  }
  return std::make_unique<PipelineTokenizer>(std::move(model), std::move(added), std::move(post), specials,
                                             config_value(cfg, "clean_up_tokenization_spaces", true));
}

std::unique_ptr<Tokenizer> load_classic_wordpiece(const FolderConfig& cfg) {
  const fs::path vocab_file = cfg.dir / "vocab.txt";
  std::ifstream in(vocab_file, std::ios::binary);
  if (!in) fail(ErrorCode::kBadFile, "{}: cannot open file", vocab_file.string());
  std::vector<std::string> vocab;
  // BertTokenizer's load_vocab keeps every line (rstrip("\n") only).
  for (std::string line; std::getline(in, line);) vocab.push_back(line);
  WordPieceOptions opt;
  opt.lower_case = config_value(cfg, "do_lower_case", true);
  opt.tokenize_chinese_chars = config_value(cfg, "tokenize_chinese_chars", true);
  const json& tc = cfg.tokenizer_config;
  opt.strip_accents = tc.contains("strip_accents") && tc["strip_accents"].is_boolean() ? (tc["strip_accents"].get<bool>() ? 1 : 0) : -1;
  opt.unk_token = special_token(cfg, "unk_token", "[UNK]").value_or("[UNK]");
  auto model = make_wordpiece(std::move(vocab), vocab_file.string(), opt);
  AddedVocab added;
  add_added_tokens_decoder(cfg, added, true);
  TokenModel* tm = model.get();
  const SpecialIds specials = resolve_specials(cfg, added, [tm](const std::string& t) { return tm->token_to_id(t); },
                                               {{"unk_token", "[UNK]"}, {"sep_token", "[SEP]"}, {"pad_token", "[PAD]"},
                                                {"cls_token", "[CLS]"}, {"mask_token", "[MASK]"}});
  if (specials.cls < 0 || specials.sep < 0) {
    fail(ErrorCode::kBadFile, "{}: the vocabulary lacks the [CLS]/[SEP] tokens BERT inputs need", vocab_file.string());
  }
  PostProcessor post;
  post.single = {{-1, {specials.cls}, 0}, {0, {}, 0}, {-1, {specials.sep}, 0}};
  post.pair = {{-1, {specials.cls}, 0}, {0, {}, 0}, {-1, {specials.sep}, 0}, {1, {}, 1}, {-1, {specials.sep}, 1}};
  return std::make_unique<PipelineTokenizer>(std::move(model), std::move(added), std::move(post), specials,
                                             config_value(cfg, "clean_up_tokenization_spaces", true));
}

}  // namespace

bool Tokenizer::present(const fs::path& dir) {
  for (const char* file : {"tokenizer.json", "vocab.json", "merges.txt", "vocab.txt", "tokenizer.model"})
    if (fs::exists(dir / file)) return true;
  return false;
}

std::unique_ptr<Tokenizer> Tokenizer::from_json(const json& tokenizer, const json& tokenizer_config,
                                                const json& model_config, const fs::path& source) {
  FolderConfig cfg;
  cfg.dir = source;
  cfg.tokenizer_config = tokenizer_config.is_object() ? tokenizer_config : json::object();
  cfg.model_config = model_config.is_object() ? model_config : json::object();
  try {
    return load_tokenizer_json(cfg, tokenizer, source);
  } catch (const json::exception& e) {
    fail(ErrorCode::kBadFile, "{}: a tokenizer field has an unexpected type or value ({})", source.string(), e.what());
  }
}

std::unique_ptr<Tokenizer> Tokenizer::load(const fs::path& dir) {
  if (!fs::is_directory(dir)) fail(ErrorCode::kBadFile, "{}: tokenizer folder not found", dir.string());
  FolderConfig cfg;
  cfg.dir = dir;
  cfg.tokenizer_config = read_optional_json(dir / "tokenizer_config.json");
  cfg.special_tokens_map = read_optional_json(dir / "special_tokens_map.json");
  cfg.model_config = read_optional_json(dir / "config.json");
  // The loaders check the fields they know to be optional; a field of an
  // unexpected JSON type elsewhere (e.g. a string where an id belongs) makes
  // nlohmann throw, and that must still name the file, not escape as a bare
  // "[json.exception...]" message.
  auto naming = [](const fs::path& file, auto&& load) -> std::unique_ptr<Tokenizer> {
    try {
      return load();
    } catch (const json::exception& e) {
      fail(ErrorCode::kBadFile, "{}: a field has an unexpected type or value ({}). HINT: re-save the "
           "tokenizer with transformers' save_pretrained()", file.string(), e.what());
    }
  };
  if (fs::exists(dir / "tokenizer.json"))
    return naming(dir / "tokenizer.json", [&] { return load_tokenizer_json(cfg); });
  if (fs::exists(dir / "vocab.json") || fs::exists(dir / "merges.txt"))
    return naming(dir / "vocab.json", [&] { return load_classic_bpe(cfg); });
  if (fs::exists(dir / "vocab.txt")) return load_classic_wordpiece(cfg);
  if (fs::exists(dir / "tokenizer.model")) {
    fail(ErrorCode::kUnsupported,
         "{}: only a SentencePiece tokenizer.model is present; save a tokenizer.json with transformers "
         "(AutoTokenizer.from_pretrained(dir).save_pretrained(dir))",
         (dir / "tokenizer.model").string());
  }
  fail(ErrorCode::kBadFile, "{}: no tokenizer.json, vocab.json + merges.txt or vocab.txt in this folder", dir.string());
}

}  // namespace vkinfer
