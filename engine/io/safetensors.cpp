// Validation order follows the file: size, header length, JSON syntax
// (including duplicate keys, which nlohmann would otherwise merge silently),
// then each entry, then the relations between entries (overlap).
#include "engine/io/safetensors.h"


#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <tuple>

#include "engine/core/error.h"

namespace vkinfer {
namespace {

using nlohmann::json;

// The reference implementation (huggingface/safetensors) refuses headers over
// 100 MB; a real header is ~100 bytes per tensor, so anything bigger is
// garbage or an attack, and we refuse before allocating for it.
constexpr uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000;

// Names come from the file, so they may hold newlines or control characters;
// JSON-quoting keeps every message on one line.
std::string json_quoted(const std::string& text) { return json(text).dump(); }

struct DtypeSpelling {
  const char* name;
  size_t size;
  std::optional<DType> dtype;  // empty: valid safetensors, not read by vkinfer
};

constexpr DtypeSpelling kDtypes[] = {
    {"F32", 4, DType::kF32}, {"F16", 2, DType::kF16}, {"BF16", 2, DType::kBF16},
    {"F64", 8, {}},          {"I64", 8, {}},          {"U64", 8, {}},
    {"I32", 4, {}},          {"U32", 4, {}},          {"I16", 2, {}},
    {"U16", 2, {}},          {"I8", 1, {}},           {"U8", 1, {}},
    {"BOOL", 1, {}},         {"F8_E4M3", 1, {}},      {"F8_E5M2", 1, {}},
};

const DtypeSpelling* find_dtype(const std::string& name) {
  for (const auto& spelling : kDtypes) {
    if (name == spelling.name) return &spelling;
  }
  return nullptr;
}

// Parses the header, remembering the first key that repeats within one
// object. nlohmann keeps only one of two equal keys, which would let a file
// hide a second definition of a tensor.
json parse_header(const std::string& file, const char* begin, size_t length) {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  int duplicate_depth = 0;
  auto track_keys = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (event == json::parse_event_t::key && !open_objects.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second && duplicate.empty()) {
        duplicate = key;
        duplicate_depth = depth;
      }
    }
    return true;
  };
  json header;
  try {
    header = json::parse(begin, begin + length, track_keys);
  } catch (const json::exception& e) {
    fail(ErrorCode::kBadFile, "{}: the safetensors header is not valid JSON ({})", file,
         e.what());
  }
  if (!duplicate.empty()) {
    if (duplicate_depth <= 1) {
      fail(ErrorCode::kBadFile, "{}: tensor {} appears twice in the safetensors header",
           file, json_quoted(duplicate));
    }
    fail(ErrorCode::kBadFile, "{}: key {} appears twice in one safetensors header entry",
         file, json_quoted(duplicate));
  }
  return header;
}

// Reads a non-negative integer that fits in int64; JSON may hold floats,
// negatives or strings where a count belongs.
std::optional<uint64_t> as_count(const json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) {
    return static_cast<uint64_t>(value.get<int64_t>());
  }
  return std::nullopt;
}

struct Span {
  uint64_t begin;
  uint64_t end;
  std::string name;
};

}  // namespace

SafetensorsFile::~SafetensorsFile() = default;

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::unique_ptr<SafetensorsFile> result(new SafetensorsFile());
  result->path_ = path;

  result->map_ = MappedFile::open(path, 8, "safetensors");
  result->mapping_ = result->map_.data();
  result->mapping_size_ = result->map_.size();
  const uint64_t file_size = result->map_.size();
  const uint8_t* bytes = result->mapping_;

  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | bytes[i];
  if (header_size > kMaxHeaderBytes) {
    fail(ErrorCode::kBadFile,
         "{}: header length {} exceeds the 100 MB safetensors limit (is this a safetensors "
         "file?)",
         file, header_size);
  }
  if (header_size > file_size - 8) {
    fail(ErrorCode::kBadFile,
         "{}: header length {} runs past the end of the file ({} bytes); the file is "
         "truncated or not safetensors",
         file, header_size, file_size);
  }
  const uint8_t* data_area = bytes + 8 + header_size;
  const uint64_t data_size = file_size - 8 - header_size;

  const json header =
      parse_header(file, reinterpret_cast<const char*>(bytes + 8), header_size);
  if (!header.is_object()) {
    fail(ErrorCode::kBadFile, "{}: the safetensors header is a JSON {}, expected an object",
         file, header.type_name());
  }

  std::vector<Span> spans;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (entry.is_null()) continue;
      if (!entry.is_object()) {
        fail(ErrorCode::kBadFile, "{}: __metadata__ is a JSON {}, expected an object", file,
             entry.type_name());
      }
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) {
          fail(ErrorCode::kBadFile, "{}: __metadata__ value for {} is a JSON {}, expected a string",
               file, json_quoted(key), value.type_name());
        }
        result->metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    const std::string where = fmt::format("{}: tensor {}", file, json_quoted(name));
    if (!entry.is_object()) {
      fail(ErrorCode::kBadFile, "{}: header entry is a JSON {}, expected an object", where,
           entry.type_name());
    }
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
      if (!entry.contains(field)) fail(ErrorCode::kBadFile, "{}: no \"{}\" field", where, field);
    }

    const json& dtype_json = entry["dtype"];
    if (!dtype_json.is_string()) {
      fail(ErrorCode::kBadFile, "{}: dtype is a JSON {}, expected a string", where,
           dtype_json.type_name());
    }
    const std::string dtype_text = dtype_json.get<std::string>();
    const DtypeSpelling* spelling = find_dtype(dtype_text);
    if (spelling == nullptr) {
      fail(ErrorCode::kUnsupported,
           "{}: unknown dtype {}; vkinfer reads F32, F16 and BF16 (convert the checkpoint "
           "with torch)",
           where, json_quoted(dtype_text));
    }

    const json& shape_json = entry["shape"];
    if (!shape_json.is_array()) {
      fail(ErrorCode::kBadFile, "{}: shape is a JSON {}, expected an array", where,
           shape_json.type_name());
    }
    std::vector<int64_t> shape;
    uint64_t element_count = 1;
    for (const json& dim_json : shape_json) {
      if (!dim_json.is_number_integer()) {
        fail(ErrorCode::kBadFile, "{}: shape {} holds a non-integer dimension", where,
             shape_json.dump());
      }
      const auto dim = as_count(dim_json);
      if (!dim || *dim > static_cast<uint64_t>(INT64_MAX)) {
        fail(ErrorCode::kBadFile, "{}: shape {} has a negative or huge dimension", where,
             shape_json.dump());
      }
      if (__builtin_mul_overflow(element_count, *dim, &element_count)) {
        fail(ErrorCode::kBadFile, "{}: shape {} has more elements than fit in 64 bits", where,
             shape_json.dump());
      }
      shape.push_back(static_cast<int64_t>(*dim));
    }
    uint64_t byte_size = 0;
    if (__builtin_mul_overflow(element_count, spelling->size, &byte_size)) {
      fail(ErrorCode::kBadFile, "{}: shape {} x {} bytes overflows 64 bits", where,
           shape_json.dump(), spelling->size);
    }

    const json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !as_count(offsets[0]) ||
        !as_count(offsets[1])) {
      fail(ErrorCode::kBadFile,
           "{}: data_offsets {} must be two non-negative integers [begin, end]", where,
           offsets.dump());
    }
    const uint64_t begin = *as_count(offsets[0]);
    const uint64_t end = *as_count(offsets[1]);
    if (end < begin) {
      fail(ErrorCode::kBadFile, "{}: data_offsets [{}, {}] end before they begin", where, begin,
           end);
    }
    if (end > data_size) {
      fail(ErrorCode::kBadFile,
           "{}: data_offsets [{}, {}] run past the data area ({} bytes); the file is truncated",
           where, begin, end, data_size);
    }
    if (end - begin != byte_size) {
      fail(ErrorCode::kBadFile,
           "{}: shape {} in {} needs {} bytes but data_offsets [{}, {}] hold {}", where,
           shape_json.dump(), dtype_text, byte_size, begin, end, end - begin);
    }
    spans.push_back({begin, end, name});

    if (!spelling->dtype) {
      result->unreadable_[name] = dtype_text;
      continue;
    }
    result->tensors_[name] = TensorInfo{name, *spelling->dtype, std::move(shape),
                                        data_area + begin, static_cast<size_t>(byte_size)};
  }

  // Overlapping tensors would alias each other's bytes; empty tensors occupy
  // nothing and may sit anywhere.
  std::erase_if(spans, [](const Span& s) { return s.begin == s.end; });
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  for (size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].begin < spans[i - 1].end) {
      fail(ErrorCode::kBadFile, "{}: tensor {} (bytes {}..{}) overlaps tensor {} (bytes {}..{})",
           file, json_quoted(spans[i].name), spans[i].begin, spans[i].end, json_quoted(spans[i - 1].name),
           spans[i - 1].begin, spans[i - 1].end);
    }
  }
  return result;
}

}  // namespace vkinfer
