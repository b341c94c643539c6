// Validation follows the file: size, magic, version, the two counts (each
// bounded by the bytes left before anything is reserved), each metadata
// entry, each tensor info, then the relations (alignment, data section,
// offsets, overlaps).
#include "engine/io/gguf.h"


#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <tuple>

#include "engine/core/error.h"

namespace vkinfer {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint64_t kFixedHeaderBytes = 24;  // magic, version, two u64 counts
constexpr uint32_t kMaxDims = 4;            // GGML_MAX_DIMS
// Arrays of arrays are legal but nothing real nests deeper than 2; the cap
// keeps a crafted file from recursing the parser off the stack.
// Smallest possible encodings, used to bound counts by the bytes left:
// a metadata entry is a u64 key length, a u32 type and at least one byte;
// a tensor info a u64 name length, u32 n_dims, one u64 dim, u32 type, u64
// offset.
constexpr uint64_t kMinEntryBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;

// Names and keys come from the file: escape everything outside printable
// ASCII so a message stays on one line.
std::string shown(const std::string& text) {
  std::string out = "'";
  for (unsigned char c : text) {
    if (c == '\'' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "'";
}

}  // namespace

uint64_t gguf_scalar_size(GgufValueType type) {
  switch (type) {
    case GgufValueType::kU8: case GgufValueType::kI8: case GgufValueType::kBool: return 1;
    case GgufValueType::kU16: case GgufValueType::kI16: return 2;
    case GgufValueType::kU32: case GgufValueType::kI32: case GgufValueType::kF32: return 4;
    case GgufValueType::kU64: case GgufValueType::kI64: case GgufValueType::kF64: return 8;
    case GgufValueType::kString: case GgufValueType::kArray: return 0;
  }
  return 0;
}

namespace {

// Smallest encoding of one value of `type`, for bounding array counts.
uint64_t min_value_size(GgufValueType type) {
  if (type == GgufValueType::kString) return 8;
  if (type == GgufValueType::kArray) return 4 + 8;
  return gguf_scalar_size(type);
}

// A bounds-checked little-endian reader over the mapped header.
class Reader {
 public:
  Reader(const std::string& file, const uint8_t* bytes, uint64_t size)
      : file_(file), bytes_(bytes), size_(size) {}

  uint64_t pos() const { return pos_; }
  uint64_t left() const { return size_ - pos_; }

  const uint8_t* take(uint64_t n, const std::string& what) {
    if (n > left()) {
      fail(ErrorCode::kBadFile,
           "{}: truncated: {} needs {} bytes at offset {} but the file has {} bytes", file_, what,
           n, pos_, size_);
    }
    const uint8_t* p = bytes_ + pos_;
    pos_ += n;
    return p;
  }
  uint64_t uint(int width, const std::string& what) {
    const uint8_t* p = take(static_cast<uint64_t>(width), what);
    uint64_t value = 0;
    for (int i = width - 1; i >= 0; --i) value = (value << 8) | p[i];
    return value;
  }
  uint32_t u32(const std::string& what) { return static_cast<uint32_t>(uint(4, what)); }
  uint64_t u64(const std::string& what) { return uint(8, what); }
  std::string string(const std::string& what) {
    const uint64_t length = u64(what + " length");
    if (length > left()) {
      fail(ErrorCode::kBadFile,
           "{}: {} claims {} bytes at offset {} but only {} bytes are left in the file", file_,
           what, length, pos_, left());
    }
    const uint8_t* p = take(length, what);
    return std::string(reinterpret_cast<const char*>(p), length);
  }

 private:
  const std::string& file_;
  const uint8_t* bytes_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

GgufValueType value_type(const std::string& file, uint32_t raw, const std::string& where) {
  if (raw > static_cast<uint32_t>(GgufValueType::kF64)) {
    fail(ErrorCode::kBadFile, "{}: {} has value type {}, which is not a GGUF type (0..12)", file,
         where, raw);
  }
  return static_cast<GgufValueType>(raw);
}

GgufValue read_value(const std::string& file, Reader& reader, GgufValueType type,
                     const std::string& where, int depth) {
  GgufValue value;
  value.type = type;
  if (type == GgufValueType::kString) {
    value.string = reader.string(where);
  } else if (type == GgufValueType::kArray) {
    if (depth >= kGgufMaxArrayDepth) {
      fail(ErrorCode::kBadFile, "{}: {} nests arrays more than {} deep", file, where,
           kGgufMaxArrayDepth);
    }
    value.element_type = value_type(file, reader.u32(where + " element type"), where);
    const uint64_t count = reader.u64(where + " array length");
    // Every element takes at least min_value_size bytes, so a count the
    // rest of the file cannot hold is a lie; refuse before reserving.
    if (count > reader.left() / min_value_size(value.element_type)) {
      fail(ErrorCode::kBadFile,
           "{}: {} claims {} {} elements but only {} bytes are left in the file", file, where,
           count, gguf_value_type_name(value.element_type), reader.left());
    }
    value.array.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      value.array.push_back(read_value(file, reader, value.element_type, where, depth + 1));
    }
  } else {
    value.bits = reader.uint(static_cast<int>(gguf_scalar_size(type)), where);
    if (type == GgufValueType::kBool && value.bits > 1) {
      fail(ErrorCode::kBadFile, "{}: {} is a bool holding {}, expected 0 or 1", file, where,
           value.bits);
    }
  }
  return value;
}

int64_t sign_extend(uint64_t bits, int width) {
  const int shift = 64 - 8 * width;
  return static_cast<int64_t>(bits << shift) >> shift;
}

}  // namespace

const char* gguf_value_type_name(GgufValueType type) {
  static constexpr const char* kNames[] = {"UINT8", "INT8",   "UINT16", "INT16", "UINT32",
                                           "INT32", "FLOAT32", "BOOL",  "STRING", "ARRAY",
                                           "UINT64", "INT64", "FLOAT64"};
  const auto index = static_cast<uint32_t>(type);
  return index < std::size(kNames) ? kNames[index] : "unknown";
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufValueType::kU8: case GgufValueType::kI8: case GgufValueType::kU16:
    case GgufValueType::kI16: case GgufValueType::kU32: case GgufValueType::kI32:
    case GgufValueType::kU64: case GgufValueType::kI64: return true;
    default: return false;
  }
}

int64_t GgufValue::as_int64() const {
  switch (type) {
    case GgufValueType::kI8: return sign_extend(bits, 1);
    case GgufValueType::kI16: return sign_extend(bits, 2);
    case GgufValueType::kI32: return sign_extend(bits, 4);
    case GgufValueType::kI64: return static_cast<int64_t>(bits);
    case GgufValueType::kU8: case GgufValueType::kU16: case GgufValueType::kU32:
    case GgufValueType::kBool: return static_cast<int64_t>(bits);
    case GgufValueType::kU64:
      if (bits > static_cast<uint64_t>(INT64_MAX)) {
        fail(ErrorCode::kInternal, "UINT64 value {} does not fit in int64", bits);
      }
      return static_cast<int64_t>(bits);
    default:
      fail(ErrorCode::kInternal, "a GGUF {} is not an integer", gguf_value_type_name(type));
  }
}

double GgufValue::as_double() const {
  if (type == GgufValueType::kF32) return std::bit_cast<float>(static_cast<uint32_t>(bits));
  if (type == GgufValueType::kF64) return std::bit_cast<double>(bits);
  if (type == GgufValueType::kU64) return static_cast<double>(bits);
  return static_cast<double>(as_int64());
}

int64_t GgufTensor::rows() const {
  int64_t rows = 1;
  for (size_t i = 1; i < dims.size(); ++i) rows *= dims[i];
  return rows;
}

std::vector<int64_t> GgufTensor::shape() const { return {dims.rbegin(), dims.rend()}; }

GgufFile::~GgufFile() = default;

const GgufValue* GgufFile::find_value(const std::string& key) const {
  auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const GgufTensor* GgufFile::find(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufValue& GgufFile::value_of(const std::string& key, GgufValueType type) const {
  const GgufValue* value = find_value(key);
  if (value == nullptr) {
    fail(ErrorCode::kBadFile, "{}: no metadata key {}", path_.string(), shown(key));
  }
  if (value->type != type) {
    fail(ErrorCode::kBadFile, "{}: metadata key {} is {}, expected {}", path_.string(),
         shown(key), gguf_value_type_name(value->type), gguf_value_type_name(type));
  }
  return *value;
}

const GgufValue& GgufFile::array_of(const std::string& key) const {
  return value_of(key, GgufValueType::kArray);
}

std::string GgufFile::get_string(const std::string& key) const {
  return value_of(key, GgufValueType::kString).string;
}
uint32_t GgufFile::get_u32(const std::string& key) const {
  return static_cast<uint32_t>(value_of(key, GgufValueType::kU32).bits);
}
int32_t GgufFile::get_i32(const std::string& key) const {
  return static_cast<int32_t>(value_of(key, GgufValueType::kI32).as_int64());
}
uint64_t GgufFile::get_u64(const std::string& key) const {
  return value_of(key, GgufValueType::kU64).bits;
}
float GgufFile::get_f32(const std::string& key) const {
  return std::bit_cast<float>(static_cast<uint32_t>(value_of(key, GgufValueType::kF32).bits));
}
bool GgufFile::get_bool(const std::string& key) const {
  return value_of(key, GgufValueType::kBool).bits != 0;
}

std::vector<std::string> GgufFile::get_strings(const std::string& key) const {
  const GgufValue& array = array_of(key);
  if (array.element_type != GgufValueType::kString) {
    fail(ErrorCode::kBadFile, "{}: metadata key {} is an array of {}, expected STRING",
         path_.string(), shown(key), gguf_value_type_name(array.element_type));
  }
  std::vector<std::string> out;
  out.reserve(array.array.size());
  for (const GgufValue& v : array.array) out.push_back(v.string);
  return out;
}

std::vector<int64_t> GgufFile::get_ints(const std::string& key) const {
  const GgufValue& array = array_of(key);
  GgufValue probe;
  probe.type = array.element_type;
  if (!probe.is_integer()) {
    fail(ErrorCode::kBadFile, "{}: metadata key {} is an array of {}, expected integers",
         path_.string(), shown(key), gguf_value_type_name(array.element_type));
  }
  std::vector<int64_t> out;
  out.reserve(array.array.size());
  for (const GgufValue& v : array.array) {
    if (v.type == GgufValueType::kU64 && v.bits > static_cast<uint64_t>(INT64_MAX)) {
      fail(ErrorCode::kBadFile, "{}: metadata key {} holds UINT64 {}, past int64", path_.string(),
           shown(key), v.bits);
    }
    out.push_back(v.as_int64());
  }
  return out;
}

std::vector<float> GgufFile::get_floats(const std::string& key) const {
  const GgufValue& array = array_of(key);
  if (array.element_type != GgufValueType::kF32) {
    fail(ErrorCode::kBadFile, "{}: metadata key {} is an array of {}, expected FLOAT32",
         path_.string(), shown(key), gguf_value_type_name(array.element_type));
  }
  std::vector<float> out;
  out.reserve(array.array.size());
  for (const GgufValue& v : array.array) out.push_back(std::bit_cast<float>(static_cast<uint32_t>(v.bits)));
  return out;
}

std::unique_ptr<GgufFile> GgufFile::open(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::unique_ptr<GgufFile> result(new GgufFile());
  result->path_ = path;

  result->map_ = MappedFile::open(path, kFixedHeaderBytes, "GGUF");
  result->mapping_ = result->map_.data();
  result->mapping_size_ = result->map_.size();
  const uint64_t file_size = result->map_.size();
  const uint8_t* bytes = result->mapping_;
  Reader reader(file, bytes, file_size);

  if (reader.u32("magic") != kMagic) {
    fail(ErrorCode::kBadFile, "{}: not a GGUF file (the first four bytes are not \"GGUF\")", file);
  }
  const uint32_t version = reader.u32("version");
  if (version != 2 && version != 3) {
    // A big-endian file (GGUF v3 allows them) shows its version byte-swapped.
    if (__builtin_bswap32(version) == 2 || __builtin_bswap32(version) == 3) {
      fail(ErrorCode::kBadFile, "{}: big-endian GGUF; vkinfer reads little-endian GGUF only", file);
    }
    fail(ErrorCode::kBadFile, "{}: GGUF version {}; vkinfer reads versions 2 and 3", file, version);
  }
  result->version_ = version;
  const uint64_t tensor_count = reader.u64("tensor count");
  const uint64_t kv_count = reader.u64("metadata count");
  if (kv_count > reader.left() / kMinEntryBytes) {
    fail(ErrorCode::kBadFile, "{}: header claims {} metadata entries but the file has only {} bytes",
         file, kv_count, file_size);
  }
  if (tensor_count > reader.left() / kMinTensorInfoBytes) {
    fail(ErrorCode::kBadFile, "{}: header claims {} tensors but the file has only {} bytes", file,
         tensor_count, file_size);
  }

  result->metadata_.reserve(kv_count);
  for (uint64_t i = 0; i < kv_count; ++i) {
    std::string key = reader.string(fmt::format("metadata key {}", i));
    const std::string where = "metadata key " + shown(key);
    const GgufValueType type = value_type(file, reader.u32(where + " type"), where);
    GgufValue value = read_value(file, reader, type, where, 0);
    if (!result->metadata_index_.emplace(key, result->metadata_.size()).second) {
      fail(ErrorCode::kBadFile, "{}: {} appears twice", file, where);
    }
    result->metadata_.emplace_back(std::move(key), std::move(value));
  }

  if (const GgufValue* alignment = result->find_value("general.alignment")) {
    if (alignment->type != GgufValueType::kU32) {
      fail(ErrorCode::kBadFile, "{}: general.alignment is {}, expected UINT32", file,
           gguf_value_type_name(alignment->type));
    }
    if (alignment->bits == 0 || !std::has_single_bit(alignment->bits)) {
      fail(ErrorCode::kBadFile, "{}: general.alignment {} is not a power of two", file,
           alignment->bits);
    }
    result->alignment_ = alignment->bits;
  }

  result->tensors_.reserve(tensor_count);
  for (uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensor tensor{};
    tensor.name = reader.string(fmt::format("tensor {} name", i));
    const std::string where = fmt::format("{}: tensor {}", file, shown(tensor.name));
    const uint32_t n_dims = reader.u32("tensor dimension count");
    if (n_dims == 0 || n_dims > kMaxDims) {
      fail(ErrorCode::kBadFile, "{} has {} dimensions; GGUF tensors have 1 to {}", where, n_dims,
           kMaxDims);
    }
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = reader.u64("tensor dimension");
      if (dim == 0 || dim > static_cast<uint64_t>(INT64_MAX)) {
        fail(ErrorCode::kBadFile, "{}: dimension {} is {}; dimensions must be at least 1", where,
             d, dim);
      }
      if (__builtin_mul_overflow(elements, dim, &elements) ||
          elements > static_cast<uint64_t>(INT64_MAX)) {
        fail(ErrorCode::kBadFile, "{}: its dimensions multiply past 64 bits", where);
      }
      tensor.dims.push_back(static_cast<int64_t>(dim));
    }
    const uint32_t raw_type = reader.u32("tensor type");
    tensor.format = find_block_format(raw_type);
    if (tensor.format == nullptr) {
      const char* name = ggml_type_name(raw_type);
      if (std::strcmp(name, "unknown") == 0) {
        fail(ErrorCode::kBadFile, "{} has type {}, which is not a ggml type", where, raw_type);
      }
      fail(ErrorCode::kUnsupported,
           "{} has type {} ({}), which vkinfer does not read (it reads F32, F16, BF16, Q8_0, "
           "Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K)",
           where, name, raw_type);
    }
    tensor.type = tensor.format->type;
    tensor.offset = reader.u64("tensor offset");

    const uint64_t block = static_cast<uint64_t>(tensor.format->block_elements);
    const uint64_t cols = static_cast<uint64_t>(tensor.dims[0]);
    if (cols % block != 0) {
      fail(ErrorCode::kBadFile, "{}: its rows of {} {} weights are not whole {}-weight blocks",
           where, cols, tensor.format->name, block);
    }
    uint64_t byte_size = 0;
    if (__builtin_mul_overflow(elements / block, static_cast<uint64_t>(tensor.format->block_bytes),
                               &byte_size)) {
      fail(ErrorCode::kBadFile, "{}: its byte size overflows 64 bits", where);
    }
    tensor.byte_size = static_cast<size_t>(byte_size);
    if (tensor.offset % result->alignment_ != 0) {
      fail(ErrorCode::kBadFile, "{}: data offset {} is not a multiple of the alignment {}", where,
           tensor.offset, result->alignment_);
    }
    if (!result->tensor_index_.emplace(tensor.name, result->tensors_.size()).second) {
      fail(ErrorCode::kBadFile, "{} appears twice", where);
    }
    result->tensors_.push_back(std::move(tensor));
  }

  // The data section starts at the next multiple of the alignment.
  const uint64_t infos_end = reader.pos();
  const uint64_t data_offset = (infos_end + result->alignment_ - 1) / result->alignment_ * result->alignment_;
  result->data_offset_ = data_offset;
  const uint64_t data_size = data_offset <= file_size ? file_size - data_offset : 0;

  struct Span {
    uint64_t begin, end;
    const std::string* name;
  };
  std::vector<Span> spans;
  spans.reserve(result->tensors_.size());
  for (GgufTensor& tensor : result->tensors_) {
    if (tensor.offset > data_size || tensor.byte_size > data_size - tensor.offset) {
      fail(ErrorCode::kBadFile,
           "{}: tensor {} ({} bytes at data offset {}) runs past the end of the data section "
           "({} bytes); the file is truncated",
           file, shown(tensor.name), tensor.byte_size, tensor.offset, data_size);
    }
    tensor.data = bytes + data_offset + tensor.offset;
    spans.push_back({tensor.offset, tensor.offset + tensor.byte_size, &tensor.name});
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  for (size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].begin < spans[i - 1].end) {
      fail(ErrorCode::kBadFile, "{}: tensor {} (bytes {}..{}) overlaps tensor {} (bytes {}..{})",
           file, shown(*spans[i].name), spans[i].begin, spans[i].end, shown(*spans[i - 1].name),
           spans[i - 1].begin, spans[i - 1].end);
    }
  }
  return result;
}

}  // namespace vkinfer
