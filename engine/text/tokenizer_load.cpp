// Tokenizer::load(): reads a Hugging Face tokenizer folder and builds the
// matching pipeline. tokenizer.json wins when present (as in transformers'
// fast tokenizers); otherwise the classic slow-tokenizer files are used.
// Options and special tokens come from tokenizer_config.json,
// special_tokens_map.json and config.json, with the defaults the
// transformers tokenizer classes use when a field is absent.
#include <climits>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "engine/core/error.h"
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

// The parts of a Sequence (normalizer, pre-tokenizer, decoder...) or the
// single component itself.
std::vector<json> components(const json& obj, const char* list_field) {
  if (obj.is_null()) return {};
  if (type_of(obj) == "Sequence" && obj.contains(list_field) && obj[list_field].is_array()) {
    return obj[list_field].get<std::vector<json>>();
  }
  return {obj};
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

BpeSource read_bpe_json(const json& model, const fs::path& file) {
  BpeSource src;
  src.vocab_source = src.merges_source = file.string();
  const json& vocab = require(model, "vocab", json::value_t::object, file);
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
      fail(ErrorCode::kBadFile, "{}: vocab entry '{}' is not an integer id in [0, 2^31)", file.string(), token);
    src.vocab.emplace_back(token, id.get<int32_t>());
  }
  const json& merges = require(model, "merges", json::value_t::array, file);
  for (const json& m : merges) {
    // Older files write "left right", newer ones ["left", "right"].
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        fail(ErrorCode::kBadFile, "{}: merge '{}' is not of the form 'left right'", file.string(), s);
      }
      src.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      src.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      fail(ErrorCode::kBadFile, "{}: a merge is neither \"left right\" nor [left, right]", file.string());
    }
  }
  return src;
}

PostProcessor template_from_json(const json& post, const AddedVocab& added, const fs::path& file,
                                 const std::function<int32_t(const std::string&)>& vocab_id) {
  PostProcessor pp;
  auto id_of = [&](const std::string& text) {
    const int32_t a = added.find(text);
    const int32_t id = a >= 0 ? a : vocab_id(text);
    if (id < 0) fail(ErrorCode::kBadFile, "{}: post_processor names token '{}' which is not in the vocabulary", file.string(), text);
    return id;
  };
  for (const json& p : components(post, "processors")) {
    const std::string type = type_of(p);
    if (type == "TemplateProcessing") {
      const json& specials = require(p, "special_tokens", json::value_t::object, file);
      auto parse = [&](const char* field) {
        std::vector<TemplateItem> items;
        for (const json& piece : require(p, field, json::value_t::array, file)) {
          TemplateItem item;
          if (piece.contains("Sequence")) {
            const json& seq = piece["Sequence"];
            item.sequence = seq.value("id", std::string("A")) == "B" ? 1 : 0;
            item.type_id = seq.value("type_id", 0);
          } else if (piece.contains("SpecialToken")) {
            const json& sp = piece["SpecialToken"];
            const std::string name = sp.value("id", std::string());
            if (!specials.contains(name)) {
              fail(ErrorCode::kBadFile, "{}: post_processor template uses '{}' but special_tokens lacks it", file.string(), name);
            }
            item.ids = specials[name].value("ids", std::vector<int32_t>{});
            item.type_id = sp.value("type_id", 0);
          } else {
            fail(ErrorCode::kBadFile, "{}: post_processor template piece is neither Sequence nor SpecialToken", file.string());
          }
          items.push_back(std::move(item));
        }
        return items;
      };
      pp.single = parse("single");
      pp.pair = parse("pair");
    } else if (type == "BertProcessing" || type == "RobertaProcessing") {
      const json& cls = require(p, "cls", json::value_t::array, file);
      const json& sep = require(p, "sep", json::value_t::array, file);
      const int32_t cls_id = id_of(cls.at(0).get<std::string>());
      const int32_t sep_id = id_of(sep.at(0).get<std::string>());
      const int32_t pair_type = type == "BertProcessing" ? 1 : 0;  // RoBERTa has no segment embedding
      pp.single = {{-1, {cls_id}, 0}, {0, {}, 0}, {-1, {sep_id}, 0}};
      pp.pair = {{-1, {cls_id}, 0}, {0, {}, 0}, {-1, {sep_id}, 0}};
      if (type == "RobertaProcessing") pp.pair.push_back({-1, {sep_id}, 0});
      pp.pair.push_back({1, {}, pair_type});
      pp.pair.push_back({-1, {sep_id}, pair_type});
    } else if (type == "ByteLevel" || type.empty()) {
      // adds nothing
    } else {
      fail(ErrorCode::kUnsupported, "{}: post_processor type '{}' is not supported", file.string(), type);
    }
  }
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

std::unique_ptr<Tokenizer> load_tokenizer_json(const FolderConfig& cfg) {
  const fs::path file = cfg.dir / "tokenizer.json";
  const json root = read_json_file(file);
  const json& model = require(root, "model", json::value_t::object, file);
  std::string model_type = type_of(model);
  if (model_type.empty()) model_type = model.contains("merges") ? "BPE" : model.contains("max_input_chars_per_word") ? "WordPiece" : "";

  AddedVocab added;
  if (root.contains("added_tokens") && root["added_tokens"].is_array()) {
    for (const json& t : root["added_tokens"]) {
      AddedToken a;
      a.id = require(t, "id", json::value_t::number_integer, file).get<int32_t>();
      a.content = require(t, "content", json::value_t::string, file).get<std::string>();
      a.special = flag(t, "special", false);
      a.lstrip = flag(t, "lstrip", false);
      a.rstrip = flag(t, "rstrip", false);
      a.single_word = flag(t, "single_word", false);
      a.normalized = flag(t, "normalized", !a.special);
      added.add(std::move(a));
    }
  }
  const json normalizer = root.value("normalizer", json());
  Normalizer normalize;  // stays the identity when the model applies the normalizer itself (BertNormalizer)
  const json pre = root.value("pre_tokenizer", json());
  const json decoder = root.value("decoder", json());

  std::unique_ptr<TokenModel> token_model;
  if (model_type == "BPE") {
    const bool byte_level = !pre.is_null() && [&] {
      for (const json& p : components(pre, "pretokenizers")) {
        if (type_of(p) != "ByteLevel") return false;
      }
      return true;
    }();
    if (byte_level) {
      for (const json& p : components(pre, "pretokenizers")) {
        if (!flag(p, "use_regex", true)) {
          fail(ErrorCode::kUnsupported, "{}: ByteLevel pre_tokenizer without GPT-2's regex (use_regex=false) is not supported", file.string());
        }
      }
      normalize = Normalizer::from_json(normalizer, file);
      ByteLevelOptions opt;
      opt.add_prefix_space = flag(components(pre, "pretokenizers").front(), "add_prefix_space", false);
      // `tokenizers` leaves GPT-2's model unk_token null; transformers'
      // GPT2TokenizerFast still names <|endoftext|> as unk.
      opt.unk_token = model.contains("unk_token") && model["unk_token"].is_string()
                          ? model["unk_token"].get<std::string>()
                          : special_token(cfg, "unk_token", "<|endoftext|>").value_or("");
      token_model = make_byte_level_bpe(read_bpe_json(model, file), opt);
    } else {
      SentencePieceOptions opt;
      opt.byte_fallback = flag(model, "byte_fallback", false);
      opt.fuse_unk = flag(model, "fuse_unk", false);
      opt.ignore_merges = flag(model, "ignore_merges", false);
      opt.unk_token = model.contains("unk_token") && model["unk_token"].is_string() ? model["unk_token"].get<std::string>() : "";
      normalize = Normalizer::from_json(normalizer, file);
      bool replaces_space = false;
      opt.metaspace = opt.prepend_space = false;
      for (const json& n : components(normalizer, "normalizers")) {
        if (type_of(n) == "Replace" && n.contains("pattern") && n["pattern"].value("String", std::string()) == " " &&
            n.value("content", std::string()) == "\xE2\x96\x81") {
          replaces_space = true;
        }
      }
      for (const json& p : components(pre, "pretokenizers")) {
        if (type_of(p) == "Metaspace" && !flag(p, "split", true)) {
          replaces_space = opt.metaspace = true;
          opt.prepend_space = p.value("prepend_scheme", std::string(flag(p, "add_prefix_space", true) ? "always" : "never")) != "never";
        } else {
          fail(ErrorCode::kUnsupported, "{}: pre_tokenizer '{}' is not supported for BPE (supported: ByteLevel, or SentencePiece-style without splitting)", file.string(), type_of(p));
        }
      }
      if (!replaces_space) {
        fail(ErrorCode::kUnsupported, "{}: BPE model is neither byte-level nor SentencePiece-style (no ' ' -> '▁')", file.string());
      }
      opt.strip_leading_spaces = 0;
      for (const json& d : components(decoder, "decoders")) {
        if (type_of(d) == "Strip" && d.value("content", std::string()) == " ") opt.strip_leading_spaces = d.value("start", 0);
        if (type_of(d) == "Metaspace") {
          const std::string scheme = d.value("prepend_scheme", std::string(flag(d, "add_prefix_space", true) ? "always" : "never"));
          opt.strip_leading_spaces = scheme != "never" ? 1 : 0;
        }
      }
      token_model = make_sentencepiece_bpe(read_bpe_json(model, file), opt);
    }
  } else if (model_type == "WordPiece") {
    WordPieceOptions opt;
    if (type_of(normalizer) == "BertNormalizer") {
      opt.clean_text = flag(normalizer, "clean_text", true);
      opt.tokenize_chinese_chars = flag(normalizer, "handle_chinese_chars", true);
      opt.lower_case = flag(normalizer, "lowercase", true);
      opt.strip_accents = normalizer.contains("strip_accents") && normalizer["strip_accents"].is_boolean()
                              ? (normalizer["strip_accents"].get<bool>() ? 1 : 0) : -1;
    } else {
      normalize = Normalizer::from_json(normalizer, file);
      opt.clean_text = opt.tokenize_chinese_chars = opt.lower_case = false;
    }
    opt.unk_token = model.value("unk_token", std::string("[UNK]"));
    opt.prefix = model.value("continuing_subword_prefix", std::string("##"));
    opt.max_input_chars_per_word = model.value("max_input_chars_per_word", 100);
    const json& vocab = require(model, "vocab", json::value_t::object, file);
    std::vector<std::string> tokens(vocab.size());
    std::vector<bool> seen(vocab.size(), false);
    for (const auto& [token, id] : vocab.items()) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<size_t>() >= tokens.size() || seen[id.get<size_t>()]) {
        fail(ErrorCode::kBadFile, "{}: WordPiece vocab ids must be 0..{} without gaps (entry '{}')", file.string(), tokens.size() - 1, token);
      }
      tokens[id.get<size_t>()] = token;
      seen[id.get<size_t>()] = true;
    }
    token_model = make_wordpiece(std::move(tokens), file.string(), opt);
  } else {
    fail(ErrorCode::kUnsupported, "{}: tokenizer model type '{}' is not supported (supported: BPE, WordPiece)", file.string(), model_type);
  }

  add_added_tokens_decoder(cfg, added, false);
  TokenModel* tm = token_model.get();
  auto vocab_id = [tm](const std::string& t) { return tm->token_to_id(t); };
  const SpecialIds specials = resolve_specials(cfg, added, vocab_id, kNoDefaults);
  const std::string tokenizer_class = config_value<std::string>(cfg, "tokenizer_class", "");
  PostProcessor post;
  if (tokenizer_class.rfind("Llama", 0) == 0 || tokenizer_class.rfind("CodeLlama", 0) == 0) {
    post = llama_template(specials, config_value(cfg, "add_bos_token", true), config_value(cfg, "add_eos_token", false),
                          cfg.dir / "tokenizer_config.json");
  } else {
    post = template_from_json(root.value("post_processor", json()), added, file, vocab_id);
  }
  return std::make_unique<PipelineTokenizer>(std::move(token_model), std::move(added), std::move(post), specials,
                                             config_value(cfg, "clean_up_tokenization_spaces", true),
                                             std::move(normalize));
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
