// Runs `body`, expecting a vkinfer::Error with `code` whose one-line message
// contains every needle.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/core/error.h"

namespace vkinfer::testing {

template <typename Body>
void expect_error(Body&& body, ErrorCode code, const std::vector<std::string>& needles) {
  try {
    body();
    ADD_FAILURE() << "expected an error (" << error_code_name(code) << ")";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(e.code(), code) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
    for (const auto& needle : needles) {
      EXPECT_NE(message.find(needle), std::string::npos)
          << "message lacks \"" << needle << "\": " << message;
    }
  }
}

}  // namespace vkinfer::testing
