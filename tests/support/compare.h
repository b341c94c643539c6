// The one comparison helper: |got - ref| <= atol + rtol * |ref| elementwise,
// reporting max abs/rel error and the first mismatches with their indices.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vkinfer::testing {

::testing::AssertionResult expect_close_impl(const std::vector<float>& ref,
                                             const std::vector<float>& got, double atol,
                                             double rtol);
// Normalised mean squared error, for whole big tensors.
double nmse(const std::vector<float>& ref, const std::vector<float>& got);

std::vector<float> random_vector(size_t count, uint32_t seed, float scale = 1.0f);

}  // namespace vkinfer::testing

#define EXPECT_CLOSE(ref, got, atol, rtol) \
  EXPECT_TRUE(::vkinfer::testing::expect_close_impl((ref), (got), (atol), (rtol)))
