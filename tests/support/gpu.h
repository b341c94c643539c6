// One Vulkan instance and device per test binary, with validation on.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/ops/policy.h"
#include "engine/vk/device.h"
#include "engine/vk/instance.h"

namespace vkinfer::testing {

vk::Instance& test_instance();
vk::Device& test_device();
ops::KernelPolicy test_policy();

// Every matmul/reduction variant the device can run, for variant sweeps.
std::vector<std::pair<std::string, ops::KernelPolicy>> all_policies(const vk::DeviceInfo& info);

std::string test_data_dir();
// "" when ../shared is absent.
std::string shared_dir();

}  // namespace vkinfer::testing
