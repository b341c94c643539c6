// libFuzzer target: a chat template's source (the bytes) parsed and rendered
// against a fixed conversation (system, user, assistant and tool turns,
// tools, special tokens), both with and without add_generation_prompt, under
// small render limits so that runaway loops and growth stop quickly. The
// only exception allowed out is vkinfer::Error (raise_exception's
// TemplateException is one); a crash, sanitizer report, hang or any other
// exception is a finding.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/core/error.h"
#include "engine/text/chat_template.h"

namespace {

const nlohmann::ordered_json& conversation() {
  static const nlohmann::ordered_json messages = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "Héllo 🚀 <b>&'\"\n"},
    {"role": "assistant", "content": "  Hi  ", "tool_calls": [{"id": "abcdefghi", "type": "function",
      "function": {"name": "f", "arguments": {"x": [1, 2.5, null, true]}}}]},
    {"role": "tool", "tool_call_id": "abcdefghi", "content": "42"},
    {"role": "user", "content": ""}
  ])");
  return messages;
}

const nlohmann::ordered_json& extra() {
  static const nlohmann::ordered_json tools = nlohmann::ordered_json::parse(R"({"tools": [
    {"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}}]})");
  return tools;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string source(reinterpret_cast<const char*>(data), size);
  vkinfer::jinja::Limits limits;
  limits.max_output_bytes = 1 << 16;
  limits.max_loop_iterations = 20000;
  try {
    const vkinfer::ChatTemplate chat_template(source, "fuzz", {{"bos_token", "<s>"}, {"eos_token", "</s>"}});
    for (bool add_generation_prompt : {true, false}) {
      try {
        const std::string out = chat_template.render(conversation(), add_generation_prompt, extra(), limits);
        if (out.size() > limits.max_output_bytes) __builtin_trap();
      } catch (const vkinfer::Error&) {
      }
    }
  } catch (const vkinfer::Error&) {
  }
  return 0;
}
