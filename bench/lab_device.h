// The kernel labs' device. Timings are taken without the validation layer
// (VKINFER_VALIDATION=1 turns it on): on a CPU driver its bookkeeping threads
// compete with the threads that run the shaders.
#pragma once

#include <memory>

#include "engine/vk/device.h"
#include "engine/vk/instance.h"

namespace vkinfer::lab {

inline vk::Device& lab_device() {
  static std::unique_ptr<vk::Instance> instance = vk::Instance::create({});
  static std::unique_ptr<vk::Device> device = vk::Device::create(*instance, 0);
  return *device;
}

}  // namespace vkinfer::lab
