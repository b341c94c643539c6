// The `_vkinfer` extension module: thin pybind11 bindings. C++ types under
// Python names, numpy (or lists) in and numpy out, and vkinfer::Error
// turned into ValueError (the caller's input: an argument, a file, a config)
// or RuntimeError (the device, memory, a bug), carrying the engine's own
// message. Python-only glue (the transformers adapter) lives in vkinfer/hf.py.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/runtime/classifier.h"
#include "engine/runtime/model_files.h"
#include "engine/text/tokenizer.h"
#include "engine/weights/quant_recipe.h"
#include "engine/vk/instance.h"
#include "python/causal_lm.h"
#include "python/sentence_embedder.h"

namespace py = pybind11;

namespace vkinfer::python {
namespace {

using IdRows = std::vector<std::vector<int32_t>>;

bool is_user_error(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kBadFile:
    case ErrorCode::kBadConfig:
    case ErrorCode::kMissingTensor:
    case ErrorCode::kShapeMismatch:
    case ErrorCode::kUnsupported:
      return true;
    default:
      return false;
  }
}

DType parse_dtype(const std::string& name) {
  if (name == "f32" || name == "float32") return DType::kF32;
  if (name == "f16" || name == "float16") return DType::kF16;
  fail(ErrorCode::kInvalidArgument, "dtype must be 'f32' or 'f16' (got '{}')", name);
}

int32_t to_id(int64_t value, const char* name) {
  if (value < std::numeric_limits<int32_t>::min() || value > std::numeric_limits<int32_t>::max())
    fail(ErrorCode::kInvalidArgument, "{}: token id {} does not fit 32 bits", name, value);
  return static_cast<int32_t>(value);
}

// An integer array (numpy, torch via __array__, or nested lists). Floats
// are refused rather than truncated.
py::array_t<int64_t> int_array(py::handle object, const char* name) {
  py::array array = py::array::ensure(object);
  if (!array) fail(ErrorCode::kInvalidArgument, "{} must be integers (a list or an array)", name);
  const char kind = array.dtype().kind();
  if (array.size() > 0 && kind != 'i' && kind != 'u' && kind != 'b')
    fail(ErrorCode::kInvalidArgument, "{} must hold integers, not dtype {}", name,
         std::string(py::str(array.dtype())));
  return py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(array);
}

// Rows of ids: a 1-D sequence is one row, a 2-D array one row per line, and
// a list of sequences may be ragged.
IdRows id_rows(py::handle object, const char* name) {
  IdRows rows;
  if (py::isinstance<py::list>(object) || py::isinstance<py::tuple>(object)) {
    py::sequence items = py::reinterpret_borrow<py::sequence>(object);
    // A sequence of sequences (lists or arrays; numpy integer scalars have no __len__).
    if (items.size() > 0 && py::hasattr(items[0], "__len__")) {
      for (py::handle item : items) {
        py::array_t<int64_t> row = int_array(item, name);
        if (row.ndim() != 1) fail(ErrorCode::kInvalidArgument, "{}: each row must be a 1-D list of ids", name);
        auto& out = rows.emplace_back();
        for (py::ssize_t i = 0; i < row.size(); ++i) out.push_back(to_id(row.at(i), name));
      }
      return rows;
    }
  }
  py::array_t<int64_t> array = int_array(object, name);
  if (array.ndim() == 1) {
    auto& out = rows.emplace_back();
    for (py::ssize_t i = 0; i < array.shape(0); ++i) out.push_back(to_id(array.at(i), name));
  } else if (array.ndim() == 2) {
    for (py::ssize_t b = 0; b < array.shape(0); ++b) {
      auto& out = rows.emplace_back();
      for (py::ssize_t t = 0; t < array.shape(1); ++t) out.push_back(to_id(array.at(b, t), name));
    }
  } else {
    fail(ErrorCode::kInvalidArgument, "{} must be 1-D or 2-D (got {} dimensions)", name, array.ndim());
  }
  return rows;
}

// A left-padded batch's real ids: a mask row is zeros then ones, as
// transformers' tokenizers pad for generation (padding_side="left").
IdRows unpad(const IdRows& rows, py::handle mask_object) {
  if (mask_object.is_none()) return rows;
  const IdRows mask = id_rows(mask_object, "attention_mask");
  if (mask.size() != rows.size())
    fail(ErrorCode::kInvalidArgument, "attention_mask has {} rows but input_ids has {}", mask.size(), rows.size());
  IdRows out(rows.size());
  for (size_t b = 0; b < rows.size(); ++b) {
    if (mask[b].size() != rows[b].size())
      fail(ErrorCode::kInvalidArgument, "attention_mask row {} has {} entries but input_ids has {}", b,
           mask[b].size(), rows[b].size());
    bool seen_one = false;
    for (size_t t = 0; t < rows[b].size(); ++t) {
      if (mask[b][t] != 0 && mask[b][t] != 1)
        fail(ErrorCode::kInvalidArgument, "attention_mask holds {}; it must be 0 or 1", mask[b][t]);
      if (mask[b][t] == 1) {
        seen_one = true;
        out[b].push_back(rows[b][t]);
      } else if (seen_one) {
        fail(ErrorCode::kInvalidArgument, "attention_mask row {} has padding after its tokens. HINT: pad on "
             "the left for generation (tokenizer.padding_side = \"left\")", b);
      }
    }
  }
  return out;
}

std::vector<int> eos_list(py::handle object) {
  std::vector<int> ids;
  if (py::isinstance<py::int_>(object)) return {object.cast<int>()};
  for (py::handle item : object) ids.push_back(item.cast<int>());
  return ids;
}

std::shared_ptr<CausalLM> load_causal_lm(const std::filesystem::path& path, const std::string& dtype, int tp,
                                         std::optional<std::vector<int>> devices, py::object quant, int64_t ctx,
                                         int64_t batch, int64_t max_prefill_rows) {
  SessionOptions options;
  options.model = path;
  options.dtype = parse_dtype(dtype);
  if (!quant.is_none()) {
    if (!py::isinstance<py::str>(quant))
      fail(ErrorCode::kInvalidArgument, "quant={}: pass a recipe name ({}) or None",
           std::string(py::repr(quant)), quant_recipe_names());
    options.quant = quant.cast<std::string>();
    parse_quant_recipe(options.quant);  // a bad name fails here, before any device work
  }
  options.tp = tp;
  if (devices) options.devices = *devices;
  options.ctx = ctx;
  options.slots = batch;
  options.max_prefill_rows = max_prefill_rows;
  py::gil_scoped_release release;
  return std::make_shared<CausalLM>(options);
}

py::array_t<int64_t> generate(CausalLM& model, py::handle input_ids, py::handle attention_mask,
                              int64_t max_new_tokens, bool do_sample, float temperature, int top_k, float top_p,
                              float repetition_penalty, uint64_t seed, py::handle eos_token_id,
                              py::handle pad_token_id) {
  const IdRows rows = id_rows(input_ids, "input_ids");
  const size_t width = rows.empty() ? 0 : rows[0].size();
  for (const auto& row : rows)
    if (row.size() != width)
      fail(ErrorCode::kInvalidArgument, "generate(): input_ids rows differ in length; pad them on the left and "
           "pass attention_mask");
  const IdRows prompts = unpad(rows, attention_mask);
  GenerateOptions options;
  options.max_new_tokens = max_new_tokens;
  options.sampling.greedy = !do_sample;
  options.sampling.temperature = temperature;
  options.sampling.top_k = top_k;
  options.sampling.top_p = top_p;
  options.sampling.repetition_penalty = repetition_penalty;
  options.sampling.seed = seed;
  if (!eos_token_id.is_none()) options.eos_token_ids = eos_list(eos_token_id);
  const DecoderConfig& config = model.config();
  int64_t pad = 0;
  if (!pad_token_id.is_none()) pad = pad_token_id.cast<int64_t>();
  else if (config.pad_token_id >= 0) pad = config.pad_token_id;
  else if (!config.eos_token_ids.empty()) pad = config.eos_token_ids[0];

  std::vector<SequenceResult> results;
  {
    py::gil_scoped_release release;
    results = model.generate(prompts, options);
  }
  // As transformers returns it: the input as given, then each row's new
  // tokens, rows that ended early padded with pad_token_id.
  size_t longest = 0;
  for (const auto& result : results) longest = std::max(longest, result.new_ids.size());
  py::array_t<int64_t> out({rows.size(), width + longest});
  auto view = out.mutable_unchecked<2>();
  for (size_t b = 0; b < rows.size(); ++b) {
    for (size_t t = 0; t < width; ++t) view(b, t) = rows[b][t];
    for (size_t t = 0; t < longest; ++t)
      view(b, width + t) = t < results[b].new_ids.size() ? results[b].new_ids[t] : pad;
  }
  return out;
}

// forward(): logits as numpy, [B, T, V] for equal-length rows (or a list
// of [T_i, V] for ragged ones) with all_logits, else [B, V].
py::object forward(CausalLM& model, py::handle input_ids, py::handle slots_object, py::handle positions_object,
                   bool all_logits, int64_t rope_length) {
  const IdRows rows = id_rows(input_ids, "input_ids");
  std::vector<int> slots;
  if (slots_object.is_none()) {
    for (size_t b = 0; b < rows.size(); ++b) slots.push_back(static_cast<int>(b));
  } else {
    slots = slots_object.cast<std::vector<int>>();
  }
  std::vector<int64_t> starts(rows.size(), -1);
  if (!positions_object.is_none()) starts = positions_object.cast<std::vector<int64_t>>();
  std::vector<float> logits;
  {
    py::gil_scoped_release release;
    logits = model.forward(rows, slots, starts, all_logits, rope_length);
  }
  const int64_t V = model.config().vocab_size;
  if (!all_logits) {
    py::array_t<float> out({static_cast<int64_t>(rows.size()), V});
    std::copy(logits.begin(), logits.end(), out.mutable_data());
    return out;
  }
  bool equal = true;
  for (const auto& row : rows) equal = equal && row.size() == rows[0].size();
  if (equal) {
    py::array_t<float> out({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size()), V});
    std::copy(logits.begin(), logits.end(), out.mutable_data());
    return out;
  }
  py::list out;
  size_t offset = 0;
  for (const auto& row : rows) {
    py::array_t<float> part({static_cast<int64_t>(row.size()), V});
    std::copy(logits.begin() + offset, logits.begin() + offset + row.size() * V, part.mutable_data());
    offset += row.size() * V;
    out.append(part);
  }
  return out;
}

// A Classifier with the Vulkan instance its replicas' devices came from
// (the classifier goes first).
struct PyClassifier {
  std::unique_ptr<vk::Instance> instance;
  std::unique_ptr<Classifier> classifier;
  ~PyClassifier() { classifier.reset(); }
};

py::dict classification_dict(const Classification& c) {
  py::dict out;
  out["label"] = c.label;
  out["label_name"] = c.label_name;
  out["logits"] = py::array_t<float>(c.logits.size(), c.logits.data());
  out["probs"] = py::array_t<float>(c.probs.size(), c.probs.data());
  out["tokens"] = c.tokens;
  return out;
}

}  // namespace
}  // namespace vkinfer::python

PYBIND11_MODULE(_vkinfer, m) {
  using namespace vkinfer;
  using namespace vkinfer::python;
  m.doc() = "vkinfer: Hugging Face transformer models on Vulkan compute (see vkinfer.hf for transformers)";
  // pybind11's numpy glue keeps function-local statics that import numpy on
  // first use; two Python threads reaching them first at once deadlock (one
  // waits on the static's guard holding the GIL, the other for the GIL while
  // importing). Made here, under the import lock, they are never first later.
  py::array_t<int64_t>(std::vector<py::ssize_t>{0});
  py::array_t<float>(std::vector<py::ssize_t>{0});

  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const Error& e) {
      PyErr_SetString(is_user_error(e.code()) ? PyExc_ValueError : PyExc_RuntimeError, e.what());
    }
  });

  m.def("validation_message_count", &vk::Instance::validation_message_count,
        "Khronos validation layer messages seen so far (VKINFER_VALIDATION=1); the tests keep it at 0.");

  py::class_<CausalLM, std::shared_ptr<CausalLM>>(m, "CausalLM",
      "A causal LM loaded from a Hugging Face folder, kept on the device between calls.")
      .def_static("from_pretrained", &load_causal_lm, py::arg("path"), py::arg("dtype") = "f32", py::arg("tp") = 1,
                  py::arg("devices") = py::none(), py::arg("quant") = py::none(), py::arg("ctx") = 0,
                  py::arg("batch") = 4, py::arg("max_prefill_rows") = 64,
                  "Loads `path` (config.json + safetensors, or a `vkinfer shard` folder). tp ranks run as "
                  "threads, one logical device each (devices: physical device per rank, default 0 for all). "
                  "batch: KV-cache slots (sequences, or beams, at once); ctx: positions per slot (0: the "
                  "model's maximum).")
      .def("generate", &generate, py::arg("input_ids"), py::arg("attention_mask") = py::none(),
           py::arg("max_new_tokens") = 64, py::arg("do_sample") = false, py::arg("temperature") = 1.0f,
           py::arg("top_k") = 50, py::arg("top_p") = 1.0f, py::arg("repetition_penalty") = 1.0f,
           py::arg("seed") = 0, py::arg("eos_token_id") = py::none(), py::arg("pad_token_id") = py::none(),
           "The engine's own generate (GPU sampler). Returns int64 [B, T + new] as transformers does.")
      .def("forward", &forward, py::arg("input_ids"), py::arg("slots") = py::none(),
           py::arg("positions") = py::none(), py::arg("all_logits") = true, py::arg("rope_length") = 0,
           "Feeds row b to KV-cache slot slots[b] (default b), from position positions[b] (rewinding the "
           "slot; default: after what it holds). Returns float32 logits [B, T, V] (all_logits) or [B, V]. "
           "rope_length > 0: the sequence length every row's dynamic rope_scaling follows, as transformers' "
           "batched forward takes its longest position + 1 (0: each row's own).")
      .def("copy_slots", &CausalLM::copy_slots, py::arg("src"), py::arg("dst"),
           py::call_guard<py::gil_scoped_release>(), "Slot dst[i] becomes a copy of slot src[i].")
      .def("reset", &CausalLM::reset, py::call_guard<py::gil_scoped_release>(), "Empties every KV-cache slot.")
      .def("slot_length", &CausalLM::length, py::arg("slot"))
      .def_property_readonly("vocab_size", [](const CausalLM& m) { return m.config().vocab_size; })
      .def_property_readonly("eos_token_ids", [](const CausalLM& m) { return m.config().eos_token_ids; })
      .def_property_readonly("bos_token_id", [](const CausalLM& m) { return m.config().bos_token_id; })
      .def_property_readonly("batch", &CausalLM::slots)
      .def_property_readonly("ctx", &CausalLM::ctx)
      .def_property_readonly("tp", &CausalLM::tp)
      .def_property_readonly("max_prefill_rows", &CausalLM::max_prefill_rows);

  py::class_<Tokenizer>(m, "Tokenizer", "A Hugging Face tokenizer (tokenizer.json, or vocab/merges files).")
      .def_static("from_pretrained", [](const std::filesystem::path& path) { return load_model_tokenizer(path); },
                  py::arg("path"))
      .def("encode", [](const Tokenizer& t, const std::string& text, bool add_special_tokens) {
             return t.encode(text, add_special_tokens).ids;
           }, py::arg("text"), py::arg("add_special_tokens") = true)
      .def("decode", [](const Tokenizer& t, py::handle ids, bool skip_special_tokens) {
             const IdRows rows = id_rows(ids, "ids");
             return t.decode(rows.empty() ? std::vector<int32_t>{} : rows[0], skip_special_tokens);
           }, py::arg("ids"), py::arg("skip_special_tokens") = false)
      .def("token_to_id", [](const Tokenizer& t, const std::string& token) -> py::object {
             const int32_t id = t.token_to_id(token);
             if (id < 0) return py::none();
             return py::int_(id);
           }, py::arg("token"))
      .def("id_to_token", &Tokenizer::id_to_token, py::arg("id"))
      .def_property_readonly("vocab_size", &Tokenizer::vocab_size)
      .def_property_readonly("bos_token_id", &Tokenizer::bos_id)
      .def_property_readonly("eos_token_id", &Tokenizer::eos_id)
      .def_property_readonly("pad_token_id", &Tokenizer::pad_id);

  py::class_<SentenceEmbedder>(m, "Embedder",
      "Sentence embeddings as sentence-transformers' encode() computes them (what `vkinfer embed` runs), "
      "one encoder on one device.")
      .def_static("from_pretrained", [](const std::filesystem::path& path, const std::string& dtype, int64_t batch,
                                        std::vector<int64_t> buckets, int device) {
             const DType type = parse_dtype(dtype);
             py::gil_scoped_release release;
             return std::make_unique<SentenceEmbedder>(path, type, batch, std::move(buckets), device);
           }, py::arg("path"), py::arg("dtype") = "f32", py::arg("batch") = 8,
           py::arg("buckets") = std::vector<int64_t>{}, py::arg("device") = 0,
           "A sentence-transformers folder (modules.json, Pooling, Normalize) or a plain BERT folder.")
      .def("encode", [](SentenceEmbedder& self, py::object texts) -> py::object {
             const bool single = py::isinstance<py::str>(texts);
             const std::vector<std::string> list =
                 single ? std::vector<std::string>{texts.cast<std::string>()} : texts.cast<std::vector<std::string>>();
             std::vector<Embedding> results;
             {
               py::gil_scoped_release release;
               results = self.embed(list);
             }
             const int64_t dim = self.config().dim();
             py::array_t<float> out({static_cast<int64_t>(results.size()), dim});
             for (size_t i = 0; i < results.size(); ++i)
               std::copy(results[i].values.begin(), results[i].values.end(), out.mutable_data() + i * dim);
             if (single) return out[py::int_(0)];
             return out;
           }, py::arg("texts"), "float32 [N, dim] for a list of texts, [dim] for one text.")
      .def_property_readonly("dim", [](const SentenceEmbedder& self) { return self.config().dim(); })
      .def_property_readonly("normalized", [](const SentenceEmbedder& self) { return self.config().normalize; });

  py::class_<PyClassifier>(m, "Classifier", "A BERT-style sequence classifier (what `vkinfer classify` runs).")
      .def_static("from_pretrained", [](const std::filesystem::path& path, const std::string& dtype, int64_t batch,
                                        bool truncate, std::vector<int> devices) {
             auto out = std::make_unique<PyClassifier>();
             ClassifierOptions options;
             options.dtype = parse_dtype(dtype);
             options.batch = batch;
             options.truncate = truncate;
             options.devices = devices;
             py::gil_scoped_release release;
             out->instance = vk::Instance::create();
             out->classifier = Classifier::load(*out->instance, path, options);
             return out;
           }, py::arg("path"), py::arg("dtype") = "f32", py::arg("batch") = 1, py::arg("truncate") = false,
           py::arg("devices") = std::vector<int>{0})
      .def("classify", [](PyClassifier& self, const std::vector<std::string>& texts,
                          std::optional<std::vector<std::string>> pairs) {
             if (pairs && pairs->size() != texts.size())
               fail(ErrorCode::kInvalidArgument, "classify(): {} texts but {} pairs", texts.size(), pairs->size());
             std::vector<EncoderInput> inputs;
             for (size_t i = 0; i < texts.size(); ++i)
               inputs.push_back(self.classifier->tokenize(
                   texts[i], pairs ? std::optional<std::string>((*pairs)[i]) : std::nullopt));
             std::vector<Classification> results;
             {
               py::gil_scoped_release release;
               results = self.classifier->classify(inputs);
             }
             py::list out;
             for (const auto& result : results) out.append(classification_dict(result));
             return out;
           }, py::arg("texts"), py::arg("pairs") = py::none(),
           "One dict per text: label, label_name, logits, probs, tokens.");
}
