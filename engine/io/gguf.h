// Read-only, zero-copy access to one GGUF file (llama.cpp's format),
// versions 2 and 3, little-endian.
//
// Like SafetensorsFile, the whole header is validated before anything is
// handed out: every count is checked against the bytes left in the file
// before anything is allocated for it, every string and array fits, every
// tensor's shape, type, size and offset agree with each other and with the
// file. Later code can index `GgufTensor::data` without re-checking. Errors
// are vkinfer::Error (kBadFile; kUnsupported for a valid tensor type vkinfer
// does not read), one line, naming the file and the key or tensor.
//
// Layout: "GGUF", u32 version, u64 tensor count, u64 metadata count; the
// metadata (string key, u32 value type, value; arrays are u32 element type,
// u64 count, elements, and may nest); the tensor infos (string name, u32
// n_dims, u64 dims[n_dims] with ne0 the fastest-varying, u32 ggml type, u64
// offset into the data section); padding to `general.alignment` (default
// 32); the data section. Strings are u64 length + bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/io/mapped_file.h"

#include "engine/io/ggml_types.h"

namespace vkinfer {

enum class GgufValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6,
  kBool = 7, kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};

// "UINT32", "ARRAY" ... as the gguf package spells them.
const char* gguf_value_type_name(GgufValueType type);
// Bytes of one scalar of `type` in a file; 0 for strings and arrays.
uint64_t gguf_scalar_size(GgufValueType type);
// How deep arrays of arrays may nest (the reader refuses deeper ones).
constexpr int kGgufMaxArrayDepth = 8;

// One metadata value. Scalars keep their little-endian bits in `bits`
// (zero-extended); strings are in `string`; arrays list their elements
// (all of `element_type`) in `array`.
struct GgufValue {
  GgufValueType type = GgufValueType::kU8;
  GgufValueType element_type = GgufValueType::kU8;  // arrays only
  uint64_t bits = 0;
  std::string string;
  std::vector<GgufValue> array;

  bool is_integer() const;  // any of the eight integer types
  // The scalar as a number; kInternal when called on a string or array.
  int64_t as_int64() const;    // integers (u64 values above INT64_MAX: kInternal) and bool
  double as_double() const;    // any scalar
};

struct GgufTensor {
  std::string name;
  std::vector<int64_t> dims;  // GGUF order: dims[0] (ne0) varies fastest; 1..4 dims, each >= 1
  GgmlType type;
  const BlockFormat* format;
  uint64_t offset;            // from the start of the data section, aligned
  const uint8_t* data;        // inside the mmap
  size_t byte_size;           // rows() * cols() / block_elements * block_bytes

  int64_t cols() const { return dims[0]; }
  int64_t rows() const;       // product of dims[1..]
  int64_t elements() const { return rows() * cols(); }
  // The row-major shape (dims reversed), as safetensors/torch would write it.
  std::vector<int64_t> shape() const;
};

class GgufFile {
 public:
  static std::unique_ptr<GgufFile> open(const std::filesystem::path& path);

  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // file offset of the data section

  // Metadata in file order; keys are unique.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const GgufValue* find_value(const std::string& key) const;
  bool has(const std::string& key) const { return find_value(key) != nullptr; }

  // Typed getters: kBadFile naming the key when it is missing or holds a
  // value of another type (no silent conversions, except that the integer
  // array getter takes any integer element type).
  std::string get_string(const std::string& key) const;
  uint32_t get_u32(const std::string& key) const;
  int32_t get_i32(const std::string& key) const;
  uint64_t get_u64(const std::string& key) const;
  float get_f32(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::vector<std::string> get_strings(const std::string& key) const;
  std::vector<int64_t> get_ints(const std::string& key) const;
  std::vector<float> get_floats(const std::string& key) const;  // F32 arrays

  // Tensors in file order.
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find(const std::string& name) const;  // nullptr when absent

 private:
  GgufFile() = default;
  const GgufValue& value_of(const std::string& key, GgufValueType type) const;
  const GgufValue& array_of(const std::string& key) const;

  std::filesystem::path path_;
  MappedFile map_;
  const uint8_t* mapping_ = nullptr;  // map_.data()
  size_t mapping_size_ = 0;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::map<std::string, size_t> metadata_index_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace vkinfer
