#include "engine/io/safetensors_writer.h"

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/core/half.h"

namespace vkinfer {

void SafetensorsWriter::add(const std::string& name, std::vector<int64_t> shape,
                            const std::vector<float>& values, DType dtype) {
  if (entries_.count(name)) fail(ErrorCode::kInternal, "safetensors writer: duplicate '{}'", name);
  const uint64_t begin = data_.size();
  if (dtype == DType::kF32) {
    data_.resize(begin + values.size() * 4);
    std::memcpy(data_.data() + begin, values.data(), values.size() * 4);
  } else if (dtype == DType::kF16) {
    data_.resize(begin + values.size() * 2);
    for (size_t i = 0; i < values.size(); ++i) {
      uint16_t h = f32_to_f16(values[i]);
      std::memcpy(data_.data() + begin + i * 2, &h, 2);
    }
  } else {
    fail(ErrorCode::kUnsupported, "safetensors writer: only F32/F16");
  }
  entries_[name] = {dtype, std::move(shape), begin, data_.size()};
}

void SafetensorsWriter::write(const std::filesystem::path& path,
                              const std::map<std::string, std::string>& metadata) const {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  for (const auto& [name, entry] : entries_)
    header[name] = {{"dtype", dtype_name(entry.dtype)}, {"shape", entry.shape},
                    {"data_offsets", {entry.begin, entry.end}}};
  std::string text = header.dump();
  while (text.size() % 8) text += ' ';  // keep the data area 8-byte aligned
  const uint64_t length = text.size();
  auto temp = path;
  temp += ".tmp";
  {
    std::ofstream file(temp, std::ios::binary);
    if (!file) fail(ErrorCode::kBadFile, "{}: cannot write", temp.string());
    file.write(reinterpret_cast<const char*>(&length), 8);
    file.write(text.data(), static_cast<std::streamsize>(text.size()));
    file.write(reinterpret_cast<const char*>(data_.data()), static_cast<std::streamsize>(data_.size()));
    if (!file) fail(ErrorCode::kBadFile, "{}: write failed (disk full?)", temp.string());
  }
  std::filesystem::rename(temp, path);
}

}  // namespace vkinfer
