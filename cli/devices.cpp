// `vkinfer devices`: what each Vulkan device offers that vkinfer uses.
#include <fmt/format.h>

#include "cli/commands.h"
#include "engine/ops/policy.h"
#include "engine/vk/device_info.h"
#include "engine/vk/instance.h"

namespace vkinfer::cli {

Command add_devices_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "devices", "List Vulkan devices: type, driver, memory heaps, subgroup size, fp16/int8 "
                 "support, binding limits and the kernel variants vkinfer picks");
  return {command, [] {
            auto instance = vk::Instance::create();
            const auto& devices = instance->physical_devices();
            for (uint32_t i = 0; i < devices.size(); ++i) {
              const vk::DeviceInfo info = vk::query_device_info(devices[i], i);
              const ops::KernelPolicy policy = ops::choose_policy(info);
              fmt::print("device {}: {} ({})\n", i, info.name, info.type_name());
              fmt::print("  driver:                     {} {}\n", info.driver_name, info.driver_info);
              fmt::print("  Vulkan API:                 {}.{}.{}\n", VK_API_VERSION_MAJOR(info.api_version),
                         VK_API_VERSION_MINOR(info.api_version), VK_API_VERSION_PATCH(info.api_version));
              for (size_t h = 0; h < info.heaps.size(); ++h)
                fmt::print("  memory heap {}:              {:.1f} MiB{}\n", h,
                           info.heaps[h].size_bytes / 1048576.0,
                           info.heaps[h].device_local ? " (device local)" : "");
              fmt::print("  subgroup size:              {} (arithmetic: {})\n", info.subgroup_size,
                         info.available.subgroup_arithmetic ? "yes" : "no");
              fmt::print("  fp16 arithmetic / storage:  {} / {}\n", info.available.shader_float16 ? "yes" : "no",
                         info.available.storage_16bit ? "yes" : "no");
              fmt::print("  int8 arithmetic / storage:  {} / {}\n", info.available.shader_int8 ? "yes" : "no",
                         info.available.storage_8bit ? "yes" : "no");
              fmt::print("  maxStorageBufferRange:      {} bytes ({:.0f} MiB)\n", info.max_storage_buffer_range,
                         info.max_storage_buffer_range / 1048576.0);
              fmt::print("  maxComputeSharedMemorySize: {} bytes\n", info.max_shared_memory_bytes);
              fmt::print("  maxComputeWorkGroupInvocations: {}\n", info.max_workgroup_invocations);
              fmt::print("  buffer device address:      {}\n", info.available.buffer_device_address ? "yes" : "no");
              fmt::print("  external host memory:       {}\n", info.available.external_memory_host ? "yes" : "no");
              fmt::print("  cooperative matrix:         {}\n", info.available.cooperative_matrix ? "yes" : "no");
              fmt::print("  kernels: weights via {}, reductions via {}\n",
                         policy.matmul.texel_weights ? "texel buffers" : "storage buffers",
                         policy.matmul.subgroup ? "subgroupAdd" : "shared memory");
            }
            return 0;
          }};
}

}  // namespace vkinfer::cli
