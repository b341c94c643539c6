#include "tests/support/gpu.h"

#include <cstdlib>
#include <filesystem>

namespace vkinfer::testing {

vk::Instance& test_instance() {
  static std::unique_ptr<vk::Instance> instance = vk::Instance::create({.validation = true});
  return *instance;
}

vk::Device& test_device() {
  static std::unique_ptr<vk::Device> device = vk::Device::create(test_instance(), 0);
  return *device;
}

ops::KernelPolicy test_policy() { return ops::choose_policy(test_device().info()); }

std::vector<std::pair<std::string, ops::KernelPolicy>> all_policies(const vk::DeviceInfo& info) {
  std::vector<std::pair<std::string, ops::KernelPolicy>> out;
  ops::KernelPolicy base = ops::choose_policy(info);
  for (int texel = 0; texel < 2; ++texel)
    for (int subgroup = 0; subgroup < 2; ++subgroup) {
      if (texel && !info.enabled.texel_buffers) continue;
      if (subgroup && !info.enabled.subgroup_arithmetic) continue;
      ops::KernelPolicy policy = base;
      policy.matmul.texel_weights = texel;
      policy.matmul.subgroup = subgroup;
      policy.matmul.vec_workgroup = subgroup ? info.subgroup_size : 16;
      policy.matmul.vec_subgroups = 1;
      policy.reduce.subgroup = subgroup;
      policy.reduce.workgroup = subgroup ? info.subgroup_size : 32;
      policy.reduce.texel_kv = texel;
      policy.reduce.texel_rows = texel;
      out.emplace_back(std::string(texel ? "texel" : "storage") + (subgroup ? "_subgroup" : "_shared"),
                       policy);
    }
  // Several subgroups per GEMV workgroup.
  if (info.enabled.subgroup_arithmetic) {
    for (uint32_t subgroups : {4u, 8u}) {
      ops::KernelPolicy wide = base;
      wide.matmul.subgroup = true;
      wide.matmul.vec_subgroups = subgroups;
      out.emplace_back("subgroups_x" + std::to_string(subgroups), wide);
    }
  }
  // A GPU-shaped tiling as well, so desktop tile sizes are tested here too.
  ops::KernelPolicy gpu_tiles = base;
  gpu_tiles.matmul.tile_local_n = 16; gpu_tiles.matmul.tile_local_m = 8;
  gpu_tiles.matmul.tile_n = 4; gpu_tiles.matmul.tile_m = 4;
  gpu_tiles.matmul.tile_n_single = 8;  // one-row tiles wider than the rest
  out.emplace_back("gpu_tiles", gpu_tiles);
  return out;
}

std::string test_data_dir() {
  const char* dir = std::getenv("VKINFER_TEST_DATA");
  return dir ? dir : std::string(VKINFER_SOURCE_DIR) + "/tests/data";
}

std::string shared_dir() {
  const char* dir = std::getenv("VKINFER_SHARED_DIR");
  std::string path = dir ? dir : std::string(VKINFER_SOURCE_DIR) + "/../shared";
  return std::filesystem::exists(path + "/models") ? path : "";
}

}  // namespace vkinfer::testing
