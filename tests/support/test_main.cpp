// GoogleTest main for every vkinfer test binary: turns the Khronos validation
// layer on and fails any test during which the layer reported a message.
#include <gtest/gtest.h>

#include <cstdlib>

#include "engine/vk/instance.h"

namespace {

class ValidationListener : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo&) override {
    before_ = vkinfer::vk::Instance::validation_message_count();
  }
  void OnTestEnd(const ::testing::TestInfo& info) override {
    uint64_t after = vkinfer::vk::Instance::validation_message_count();
    if (after != before_)
      ADD_FAILURE() << info.name() << ": the Vulkan validation layer reported "
                    << (after - before_) << " message(s); see stderr";
  }
  uint64_t before_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  setenv("VKINFER_VALIDATION", "1", 0);
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new ValidationListener);
  return RUN_ALL_TESTS();
}
