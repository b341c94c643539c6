#include "tests/reference/small_ops_ref.h"

#include <cmath>
#include <limits>

#include "tests/reference/matmul_ref.h"

namespace vkinfer::reference {

std::vector<float> norm(const std::vector<float>& x, const std::vector<float>* residual,
                        const std::vector<float>* gamma, const std::vector<float>* beta,
                        int64_t M, int64_t N, double eps, bool rms, std::vector<float>* h_out) {
  std::vector<float> y(M * N);
  if (h_out) h_out->assign(M * N, 0.0f);
  std::vector<double> h(N);
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      // h is an fp32 tensor in torch (x + residual rounds once).
      float sum = x[m * N + n] + (residual ? (*residual)[m * N + n] : 0.0f);
      h[n] = sum;
      if (h_out) (*h_out)[m * N + n] = sum;
    }
    double mean = 0, second = 0;
    for (int64_t n = 0; n < N; ++n) mean += h[n];
    mean /= N;
    for (int64_t n = 0; n < N; ++n) {
      double d = rms ? h[n] : h[n] - mean;
      second += d * d;
    }
    second /= N;
    const double rstd = 1.0 / std::sqrt(second + eps);
    for (int64_t n = 0; n < N; ++n) {
      double v = ((rms ? h[n] : h[n] - mean)) * rstd;
      if (gamma) v *= (*gamma)[n];
      if (beta) v += (*beta)[n];
      y[m * N + n] = static_cast<float>(v);
    }
  }
  return y;
}

std::vector<float> softmax(const std::vector<float>& x, const std::vector<float>* mask,
                           int64_t M, int64_t N, double scale) {
  std::vector<float> y(M * N);
  std::vector<double> v(N);
  for (int64_t m = 0; m < M; ++m) {
    double top = -std::numeric_limits<double>::infinity();
    for (int64_t n = 0; n < N; ++n) {
      v[n] = scale * x[m * N + n] + (mask ? (*mask)[m * N + n] : 0.0);
      top = std::max(top, v[n]);
    }
    if (std::isinf(top) && top < 0) {
      for (int64_t n = 0; n < N; ++n) y[m * N + n] = 0.0f;
      continue;
    }
    double total = 0;
    for (int64_t n = 0; n < N; ++n) total += std::exp(v[n] - top);
    for (int64_t n = 0; n < N; ++n) y[m * N + n] = static_cast<float>(std::exp(v[n] - top) / total);
  }
  return y;
}

std::vector<float> elementwise(const std::vector<float>& a, const std::vector<float>* b,
                               double alpha, double beta, ops::Act act) {
  std::vector<float> y(a.size());
  for (size_t i = 0; i < a.size(); ++i)
    y[i] = static_cast<float>(activation(alpha * a[i] + (b ? beta * (*b)[i] : 0.0), act));
  return y;
}

float rope_angle_f32(uint32_t position, int pair, int rotary_dim, float theta,
                     float position_divisor, const RopeLlama3& llama3) {
  // torch: arange(0, dim, 2).float() / dim, then base ** that, then 1 / that,
  // all fp32 tensors; then position.float() * inv_freq in fp32.
  const float exponent = static_cast<float>(2 * pair) / static_cast<float>(rotary_dim);
  float inv_freq = 1.0f / std::pow(theta, exponent);
  if (llama3.factor > 0.0f) {
    // wavelen = 2 pi / inv_freq as torch does it: reciprocal, times fp32(2 pi).
    const float wavelen = (1.0f / inv_freq) * static_cast<float>(2.0 * M_PI);
    const float low_wavelen = static_cast<float>(double(llama3.original_max_positions) / llama3.low_freq_factor);
    const float high_wavelen = static_cast<float>(double(llama3.original_max_positions) / llama3.high_freq_factor);
    if (wavelen > low_wavelen) {
      inv_freq = inv_freq / llama3.factor;
    } else if (!(wavelen < high_wavelen)) {
      const float smooth = ((1.0f / wavelen) * llama3.original_max_positions - llama3.low_freq_factor) /
                           (llama3.high_freq_factor - llama3.low_freq_factor);
      inv_freq = (1.0f - smooth) * inv_freq / llama3.factor + smooth * inv_freq;
    }
  }
  const float scaled_position = static_cast<float>(position) / position_divisor;
  return scaled_position * inv_freq;
}

void rotary(std::vector<float>& x, const std::vector<uint32_t>& positions, int64_t row_stride,
            int num_heads, int head_dim, int rotary_dim, bool interleaved, float theta,
            float position_divisor, const RopeLlama3& llama3) {
  const int half = rotary_dim / 2;
  for (size_t m = 0; m < positions.size(); ++m)
    for (int h = 0; h < num_heads; ++h)
      for (int i = 0; i < half; ++i) {
        const double angle = rope_angle_f32(positions[m], i, rotary_dim, theta, position_divisor, llama3);
        const double c = std::cos(angle), s = std::sin(angle);
        float* head = x.data() + m * row_stride + int64_t(h) * head_dim;
        float& a = head[interleaved ? 2 * i : i];
        float& b = head[interleaved ? 2 * i + 1 : i + half];
        const double a0 = a, b0 = b;
        a = static_cast<float>(a0 * c - b0 * s);
        b = static_cast<float>(b0 * c + a0 * s);
      }
}

void embedding(const std::vector<float>& table, int64_t rows, int64_t cols,
               const std::vector<uint32_t>& ids, int64_t row_offset, double scale,
               bool accumulate, std::vector<float>& y) {
  for (size_t m = 0; m < ids.size(); ++m) {
    const int64_t local = int64_t(ids[m]) - row_offset;
    const bool inside = local >= 0 && local < rows;
    for (int64_t c = 0; c < cols; ++c) {
      const double v = inside ? scale * table[local * cols + c] : 0.0;
      float& out = y[m * cols + c];
      out = static_cast<float>(accumulate ? out + v : v);
    }
  }
}

std::vector<uint32_t> argmax(const std::vector<float>& x, int64_t M, int64_t N) {
  std::vector<uint32_t> out(M);
  for (int64_t m = 0; m < M; ++m) {
    int64_t best = 0;
    for (int64_t n = 1; n < N; ++n) {
      const float v = x[m * N + n], b = x[m * N + best];
      if (std::isnan(b)) break;  // the first NaN is the answer
      if (std::isnan(v) || v > b) best = n;
    }
    out[m] = static_cast<uint32_t>(best);
  }
  return out;
}

}  // namespace vkinfer::reference
