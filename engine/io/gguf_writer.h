// Writes a GGUF v3 file (little-endian), the format engine/io/gguf.h reads
// (see there for the layout): metadata of any value type, tensor infos
// with dims in GGUF order (ne0, the row length, first), padding to
// `general.alignment` (default 32) before the data section and after every
// tensor, as gguf-py's GGUFWriter does.
//
// Everything is checked when it is added, so write() only does I/O:
// duplicate keys or tensor names, a tensor whose byte count is not its
// shape in whole blocks of its type, a name llama.cpp could not load
// (64 bytes or more), a general.alignment that is not a UINT32 power of
// two -> kInvalidArgument. write() goes to `path.tmp` and renames it over
// `path` only when everything was written, so a failure never leaves a
// half-written file under the real name; I/O errors are kBadFile naming
// the path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "engine/io/ggml_types.h"
#include "engine/io/gguf.h"

namespace vkinfer {

class GgufWriter {
 public:
  // Scalars.
  void add_u8(const std::string& key, uint8_t value);
  void add_i8(const std::string& key, int8_t value);
  void add_u16(const std::string& key, uint16_t value);
  void add_i16(const std::string& key, int16_t value);
  void add_u32(const std::string& key, uint32_t value);
  void add_i32(const std::string& key, int32_t value);
  void add_u64(const std::string& key, uint64_t value);
  void add_i64(const std::string& key, int64_t value);
  void add_f32(const std::string& key, float value);
  void add_f64(const std::string& key, double value);
  void add_bool(const std::string& key, bool value);
  void add_string(const std::string& key, const std::string& value);
  // Arrays. Integers are stored as `element_type` (any of the eight integer
  // types); a value that does not fit it is kInvalidArgument.
  void add_array_strings(const std::string& key, const std::vector<std::string>& values);
  void add_array_ints(const std::string& key, std::span<const int64_t> values,
                      GgufValueType element_type = GgufValueType::kI32);
  void add_array_floats(const std::string& key, std::span<const float> values);  // FLOAT32
  // Any value, nested arrays included, as GgufFile returns them (arrays
  // nested at most 8 deep, the reader's limit).
  void add_value(const std::string& key, GgufValue value);
  // Sets general.alignment (a power of two); the same as add_u32.
  void set_alignment(uint32_t alignment) { add_u32("general.alignment", alignment); }

  // A tensor: `dims` in GGUF order (dims[0] = ne0, the row length; 1 to 4
  // dims, each >= 1), `bytes` its rows of whole blocks of `type`
  // (engine/weights/quantize.h makes them). The first form keeps a copy;
  // the second only the view, which must stay valid until write() returns.
  void add_tensor(const std::string& name, std::vector<int64_t> dims, GgmlType type,
                  std::vector<uint8_t> bytes);
  void add_tensor_view(const std::string& name, std::vector<int64_t> dims, GgmlType type,
                       std::span<const uint8_t> bytes);

  uint64_t alignment() const { return alignment_; }
  size_t metadata_count() const { return metadata_.size(); }
  size_t tensor_count() const { return tensors_.size(); }

  // Writes the file (see above); the writer is unchanged, so it may be
  // written again.
  void write(const std::filesystem::path& path) const;

 private:
  struct Tensor {
    std::string name;
    std::vector<int64_t> dims;
    GgmlType type;
    std::vector<uint8_t> owned;       // add_tensor
    std::span<const uint8_t> view;    // add_tensor_view
    bool owns = false;
    std::span<const uint8_t> bytes() const { return owns ? std::span<const uint8_t>(owned) : view; }
  };
  void add_scalar(const std::string& key, GgufValueType type, uint64_t bits);
  void check_new_key(const std::string& key) const;
  void check_tensor(const std::string& name, const std::vector<int64_t>& dims, GgmlType type,
                    size_t byte_count) const;

  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::map<std::string, size_t> keys_;
  std::vector<Tensor> tensors_;
  std::map<std::string, size_t> names_;
  uint64_t alignment_ = 32;
};

}  // namespace vkinfer
