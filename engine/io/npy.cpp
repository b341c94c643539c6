// The header is a Python dict literal, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// parsed here with a small scanner that accepts exactly the subset np.save
// emits (string, bool and int-tuple values) and rejects everything else.
#include "engine/io/npy.h"

#include <cctype>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>

#include "engine/core/error.h"

namespace vkinfer {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
// np.save keeps headers under a few hundred bytes; 1 MiB bounds what a
// corrupted length field can make us scan.
constexpr uint64_t kMaxHeaderBytes = 1 << 20;

// Header text comes from the file; control bytes would break the one-line
// error message, so they are shown as '?'.
std::string printable(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  return text;
}

struct HeaderValue {
  std::string text;                   // 'descr'
  std::optional<bool> flag;           // 'fortran_order'
  std::optional<std::vector<int64_t>> tuple;  // 'shape'
};

class HeaderScanner {
 public:
  HeaderScanner(const std::string& file, const std::string& header)
      : file_(file), text_(header) {}

  std::map<std::string, HeaderValue> parse() {
    std::map<std::string, HeaderValue> fields;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = quoted();
      expect(':');
      skip_space();
      HeaderValue value;
      if (peek() == '\'' || peek() == '"') {
        value.text = quoted();
      } else if (peek() == '(') {
        value.tuple = int_tuple();
      } else if (text_.compare(pos_, 4, "True") == 0) {
        value.flag = true;
        pos_ += 4;
      } else if (text_.compare(pos_, 5, "False") == 0) {
        value.flag = false;
        pos_ += 5;
      } else {
        bad("unexpected value for '" + key + "'");
      }
      if (!fields.emplace(key, std::move(value)).second) bad("key '" + key + "' repeats");
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_space();
      if (peek() != '}') bad("expected ',' or '}'");
    }
    ++pos_;
    skip_space();
    if (pos_ != text_.size()) bad("trailing characters after the dict");
    return fields;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail(ErrorCode::kBadFile, "{}: malformed .npy header at byte {}: {}", file_, pos_,
         printable(what));
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) bad(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string quoted() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') bad("expected a quoted string");
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string::npos) bad("unterminated string");
    std::string value = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return value;
  }
  std::vector<int64_t> int_tuple() {
    std::vector<int64_t> values;
    expect('(');
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) bad("shape holds a non-integer");
      int64_t value = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (__builtin_mul_overflow(value, 10, &value) ||
            __builtin_add_overflow(value, peek() - '0', &value)) {
          bad("shape dimension overflows int64");
        }
        ++pos_;
      }
      values.push_back(value);
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != ')') {
        bad("expected ',' or ')' in shape");
      }
    }
    ++pos_;
    return values;
  }

  const std::string& file_;
  const std::string& text_;
  size_t pos_ = 0;
};

template <typename T>
T load_le(const char* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));  // host is little-endian (x86-64, aarch64)
  return value;
}

}  // namespace

NpyArray read_npy(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::kBadFile, "{}: cannot open", file);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  if (bytes.size() < 10 || bytes.compare(0, kMagicSize, kMagic, kMagicSize) != 0) {
    fail(ErrorCode::kBadFile, "{}: not a .npy file (no \\x93NUMPY magic)", file);
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  uint64_t header_size = 0;
  size_t header_begin = 0;
  if (major == 1) {
    header_size = load_le<uint16_t>(bytes.data() + 8);
    header_begin = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(ErrorCode::kBadFile, "{}: truncated .npy preamble", file);
    header_size = load_le<uint32_t>(bytes.data() + 8);
    header_begin = 12;
  } else {
    fail(ErrorCode::kUnsupported, "{}: .npy format version {} (vkinfer reads 1, 2 and 3)", file,
         major);
  }
  if (header_size > kMaxHeaderBytes || header_size > bytes.size() - header_begin) {
    fail(ErrorCode::kBadFile, "{}: .npy header length {} runs past the file ({} bytes)", file,
         header_size, bytes.size());
  }
  const std::string header = bytes.substr(header_begin, header_size);
  const auto fields = HeaderScanner(file, header).parse();

  auto descr = fields.find("descr");
  auto order = fields.find("fortran_order");
  auto shape = fields.find("shape");
  if (descr == fields.end() || order == fields.end() || shape == fields.end() ||
      !order->second.flag || !shape->second.tuple) {
    fail(ErrorCode::kBadFile, "{}: .npy header lacks descr/fortran_order/shape: {}", file,
         printable(header));
  }
  if (*order->second.flag) {
    fail(ErrorCode::kUnsupported, "{}: array is Fortran-ordered; save it with "
         "np.ascontiguousarray", file);
  }
  NpyArray array;
  size_t element_size = 0;
  const std::string& dtype = descr->second.text;
  if (dtype == "<f4") {
    array.dtype = NpyDType::kF32;
    element_size = 4;
  } else if (dtype == "<i4") {
    array.dtype = NpyDType::kI32;
    element_size = 4;
  } else if (dtype == "<i8") {
    array.dtype = NpyDType::kI64;
    element_size = 8;
  } else {
    fail(ErrorCode::kUnsupported, "{}: .npy dtype '{}'; vkinfer reads '<f4', '<i4' and '<i8'",
         file, printable(dtype));
  }
  array.shape = *shape->second.tuple;
  uint64_t count = 1;
  for (int64_t dim : array.shape) {
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(dim), &count)) {
      fail(ErrorCode::kBadFile, "{}: .npy shape overflows 64 bits", file);
    }
  }
  const size_t data_begin = header_begin + header_size;
  const uint64_t data_size = bytes.size() - data_begin;
  uint64_t expected = 0;
  if (__builtin_mul_overflow(count, element_size, &expected) || expected != data_size) {
    fail(ErrorCode::kBadFile, "{}: .npy shape needs {} x {} bytes but the file holds {}", file,
         count, element_size, data_size);
  }

  const char* data = bytes.data() + data_begin;
  array.data.resize(count);
  if (count == 0) return array;  // memcpy into an empty vector's null data() is UB
  if (array.dtype == NpyDType::kF32) {
    std::memcpy(array.data.data(), data, expected);
  } else {
    array.int_data.resize(count);
    for (uint64_t i = 0; i < count; ++i) {
      array.int_data[i] = array.dtype == NpyDType::kI32
                              ? load_le<int32_t>(data + i * 4)
                              : load_le<int64_t>(data + i * 8);
      array.data[i] = static_cast<float>(array.int_data[i]);
    }
  }
  return array;
}

void write_npy_f32(const std::filesystem::path& path, const std::vector<int64_t>& shape,
                   const float* data) {
  uint64_t count = 1;
  std::string dims;
  for (int64_t dim : shape) {
    if (dim < 0 || __builtin_mul_overflow(count, static_cast<uint64_t>(dim), &count)) {
      fail(ErrorCode::kInvalidArgument, "{}: cannot write .npy with dimension {}", path.string(),
           dim);
    }
    dims += std::to_string(dim) + ", ";
  }
  if (shape.size() > 1) dims.resize(dims.size() - 2);  // (2, 3); one dim keeps "(5,)"
  if (shape.size() == 1) dims.resize(dims.size() - 1);
  std::string header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // np.save pads with spaces and a newline so data starts 64-byte aligned.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 65535) {
    fail(ErrorCode::kInvalidArgument, "{}: shape too long for a .npy v1 header", path.string());
  }

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(ErrorCode::kBadFile, "{}: cannot create", path.string());
  const uint16_t header_size = static_cast<uint16_t>(header.size());
  out.write(kMagic, kMagicSize);
  out.put(1);
  out.put(0);
  out.write(reinterpret_cast<const char*>(&header_size), 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  if (count > 0) {
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(count * 4));
  }
  out.close();
  if (!out) fail(ErrorCode::kBadFile, "{}: write failed (disk full?)", path.string());
}

}  // namespace vkinfer
