// Llama 3.1+ GGUF files carry their rope_scaling ("llama3") not as metadata
// but as the tensor rope_freqs.weight: one divisor per rotary frequency,
// which convert_hf_to_gguf.py computes from factor, low_freq_factor,
// high_freq_factor and original_max_position_embeddings (1 for short
// wavelengths, `factor` for long ones, a blend between). This recovers those
// four numbers, so the one rotary kernel runs them as it runs a Hugging Face
// folder's, and checks that they give back every divisor in the file.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vkinfer {

struct Llama3RopeScaling {
  double factor = 0, low_freq_factor = 0, high_freq_factor = 0;
  double original_max_positions = 0;
};

// The divisors the converter writes for `head_dim` rotary dims at base
// `theta` (freqs in fp32 as torch computes them, the rest in double as
// Python does).
std::vector<float> llama3_rope_divisors(const Llama3RopeScaling& scaling, double theta, int64_t head_dim);

// nullopt when every divisor is 1 (no scaling). kUnsupported (naming `where`)
// when the divisors follow no llama3 rule: fewer than two in the blended band
// leave the rule undetermined, or the recovered rule does not reproduce them.
std::optional<Llama3RopeScaling> llama3_rope_from_divisors(std::span<const float> divisors, double theta,
                                                           int64_t head_dim, const std::string& where);

}  // namespace vkinfer
