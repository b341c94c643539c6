#include "engine/ops/matmul.h"

#include <algorithm>
#include <array>
#include <span>

#include "engine/core/error.h"
#include "engine/ops/weight_kernels.h"
#include "engine/vk/device.h"
#include "shaders/params/matmul.h"

namespace vkinfer::ops {
namespace {

struct VecSpec {
  uint32_t workgroup, rows, max_m, epilogue;
};
struct TiledSpec {
  uint32_t local_n, local_m, tile_n, tile_m, epilogue;
  uint32_t aligned;  // X and gain rows vec4-aligned, K % 8 == 0: no scalar path
};

struct RowChoice {
  bool tiled = false;
  uint32_t tile_m = 0;  // tiled: rows of X per invocation
  uint32_t tile_n = 0;  // tiled: columns of W per invocation
  uint32_t max_m = 0;   // GEMV: rows of X per pass
};

RowChoice choose_rows(int64_t M, int64_t K, const MatmulPolicy& policy, MatmulKind kind) {
  RowChoice choice;
  choice.tiled = kind == MatmulKind::kTiled ||
                 (kind == MatmulKind::kAuto && (M >= policy.tiled_min_m || K <= policy.tiled_max_k_small_m));
  if (choice.tiled) {
    // Few rows of X get a shorter tile: one row for a decode step, a quarter
    // tile up to a quarter of tile_m rows, else the full tile. Every tile
    // height is a set of pipelines that models prepare at load, and lavapipe
    // JIT-compiles each for ~0.5-7 s, so there are three heights, not one
    // per power of two; rows 2 and 5..tile_m-1 pay for the phantom rows of
    // the next height instead (the GEMM is weight-bound at so few rows).
    choice.tile_m = policy.tile_m;
    const uint32_t quarter = std::max<uint32_t>(policy.tile_m / 4, 1);
    if (M == 1) choice.tile_m = 1;
    else if (M <= quarter) choice.tile_m = std::min<uint32_t>(quarter, policy.tile_m);
    choice.tile_n = choice.tile_m == 1 && policy.tile_n_single ? policy.tile_n_single : policy.tile_n;
  } else {
    // Rows of X per pass = M when it fits: a decode step (M = 1) must not
    // pay for accumulators of rows that do not exist.
    choice.max_m = static_cast<uint32_t>(std::min<int64_t>(M, policy.vec_max_m));
  }
  return choice;
}

}  // namespace

uint32_t matmul_row_class(int64_t M, int64_t K, const MatmulPolicy& policy) {
  const RowChoice choice = choose_rows(M, K, policy, MatmulKind::kAuto);
  return choice.tiled ? (choice.tile_n << 20) | choice.tile_m : 0x10000u | choice.max_m;
}

void matmul(vk::CommandStream& stream, const MatmulArgs& args, const MatmulPolicy& policy,
            MatmulKind kind) {
  vk::Device& device = stream.device();
  const Weight& weight = *args.weight;
  if (args.weight_up && (args.weight_up->rows != weight.rows || args.weight_up->cols != weight.cols ||
                         !(args.weight_up->format == weight.format) ||
                         args.weight_up->chunks.size() != weight.chunks.size()))
    fail(ErrorCode::kInternal, "matmul: GLU weights disagree in shape or chunking");
  if (args.M == 0) return;
  // The activation, GLU and input norm are compiled into the pipeline; bias
  // and residual are push-constant flags (see matmul_io.glsl).
  uint32_t epilogue = static_cast<uint32_t>(args.act) << MATMUL_ACT_SHIFT;
  uint32_t flags = 0;
  if (args.bias) flags |= MATMUL_FLAG_BIAS;
  if (args.residual) flags |= MATMUL_FLAG_RESIDUAL;
  if (args.weight_up) epilogue |= MATMUL_FLAG_GLU;
  if (const InputNorm* norm = args.input_norm) {
    epilogue |= MATMUL_FLAG_NORM;
    if (norm->rms) epilogue |= MATMUL_FLAG_NORM_RMS;
    if (!norm->gamma || (!norm->rms && !norm->sums))
      fail(ErrorCode::kInternal, "matmul: an input norm needs its gain and (LayerNorm) weight sums");
  }
  const RowChoice choice = choose_rows(args.M, weight.cols, policy, kind);
  const bool tiled = choice.tiled;
  const uint32_t tile_m = choice.tile_m;
  const bool texel = policy.texel_weights && device.info().enabled.texel_buffers;
  const bool subgroup = policy.subgroup && device.info().enabled.subgroup_arithmetic;

  const vk::BindingKind w_kind = texel ? vk::BindingKind::kTexel : vk::BindingKind::kStorage;
  // The pipeline for one chunk's format: chunks of a stacked weight may
  // differ (WeightChunk::format).
  auto kernel_for = [&](const WeightFormat& format) -> const vk::Kernel& {
    const WeightKernels& kernels = weight_kernels(format, "matmul");
    vk::KernelDesc desc;
    desc.shader = kernels.matmul(tiled, texel, subgroup);
    // 0 X, 1-2 W (and GLU's up), 3 bias, 4 residual, 5 Y, 6 X as texels,
    // 7 the input norm's gain, 8 its weight sums, 9 the gain as texels;
    // block formats: 10-11 the scales of W and W_up.
    desc.bindings = {vk::BindingKind::kStorage, w_kind, w_kind, vk::BindingKind::kStorage,
                     vk::BindingKind::kStorage, vk::BindingKind::kStorage, w_kind,
                     vk::BindingKind::kStorage, vk::BindingKind::kStorage, w_kind};
    if (!format.plain()) {
      desc.bindings.push_back(w_kind);
      desc.bindings.push_back(w_kind);
    }
    desc.written_bindings = 1u << 5;
    desc.push_constant_bytes = sizeof(params::MatmulParams);
    if (tiled) {
      // Alignment is a property of the model's widths, not of a request (odd
      // test models take the scalar path, real ones never do).
      const uint32_t gamma_offset = args.input_norm ? args.input_norm->gamma.offset : 0u;
      const bool aligned = weight.cols % 8 == 0 && args.x.offset % 4 == 0 && args.x.stride % 4 == 0 &&
                           gamma_offset % 4 == 0;
      TiledSpec spec{policy.tile_local_n, policy.tile_local_m, choice.tile_n, tile_m, epilogue,
                     aligned ? 1u : 0u};
      desc.spec = vk::spec_values(spec);
      desc.local_size = {spec.local_n, spec.local_m, 1};
    } else {
      // Subgroup variant: vec_subgroups subgroups per workgroup, ROWS columns each.
      const uint32_t workgroup = subgroup ? device.info().subgroup_size * policy.vec_subgroups
                                          : policy.vec_workgroup;
      VecSpec spec{workgroup, policy.vec_rows, choice.max_m, epilogue};
      desc.spec = vk::spec_values(spec);
      desc.local_size = {workgroup, 1, 1};
    }
    return device.kernel(desc);
  };
  const vk::Buffer& dummy = device.dummy_buffer();

  const int64_t n_begin = args.n_begin;
  const int64_t n_end = args.n_end > 0 ? args.n_end : weight.rows;
  for (size_t c = 0; c < weight.chunks.size(); ++c) {
    const WeightChunk& chunk = weight.chunks[c];
    const int64_t lo = std::max(n_begin, chunk.row_begin);
    const int64_t hi = std::min(n_end, chunk.row_begin + chunk.row_count);
    if (lo >= hi) continue;
    // Bind from the chunk's first row we compute; offsets stay in elements.
    const int64_t first_row = lo - chunk.row_begin;
    const WeightFormat& format = chunk.format;
    const WeightChunk* up = args.weight_up ? &args.weight_up->chunks[c] : nullptr;
    if (up && !(up->format == format))
      fail(ErrorCode::kUnsupported, "matmul: a GLU pair's gate and up weights are in different "
           "formats ({} and {})", format.name, up->format.name);
    const vk::Kernel& kernel = kernel_for(format);
    const bool blocks = !format.plain();
    // Plain rows are bound from the first row computed; block rows are
    // bound whole and skipped in the shader (pc.w_row0), since their length
    // need not be a multiple of the device's offset alignment.
    const uint64_t row_bytes = format.row_bytes(weight.row_stride);
    vk::BufferRange w = blocks ? vk::BufferRange(chunk.buffer)
                               : vk::BufferRange(chunk.buffer, first_row * row_bytes, (hi - lo) * row_bytes);
    vk::BufferRange w2 = w;
    if (up)
      w2 = blocks ? vk::BufferRange(up->buffer)
                  : vk::BufferRange(up->buffer, first_row * row_bytes, (hi - lo) * row_bytes);
    if (texel) {
      w.texel_format = weight_kernels(format, "matmul").texel_format;
      w2.texel_format = w.texel_format;
    }
    params::MatmulParams p{};
    if (blocks) p.w_row0 = static_cast<uint32_t>(first_row);
    p.flags = flags;
    p.M = static_cast<uint32_t>(args.M);
    p.N = static_cast<uint32_t>(hi - lo);
    p.K = static_cast<uint32_t>(weight.cols);
    p.x_offset = args.x.offset;
    p.x_stride = args.x.stride;
    p.w_stride = static_cast<uint32_t>(weight.row_stride);
    p.y_offset = args.y.offset + static_cast<uint32_t>(lo);
    p.y_stride = args.y.stride;
    if (args.bias) p.bias_offset = args.bias.offset + static_cast<uint32_t>(lo);
    if (args.residual) {
      p.r_offset = args.residual.offset + static_cast<uint32_t>(lo);
      p.r_stride = args.residual.stride;
    }
    if (const InputNorm* norm = args.input_norm) {
      p.gamma_offset = norm->gamma.offset;
      p.norm_eps = norm->eps;
      if (norm->sums) {
        p.sums_offset = norm->sums.offset + static_cast<uint32_t>(lo);
        p.sums_stride = norm->sums.stride;
      }
    }

    uint32_t groups_x, groups_y = 1;
    if (tiled) {
      groups_x = static_cast<uint32_t>((p.N + policy.tile_local_n * choice.tile_n - 1) /
                                       (policy.tile_local_n * choice.tile_n));
      groups_y = static_cast<uint32_t>((p.M + policy.tile_local_m * tile_m - 1) /
                                       (policy.tile_local_m * tile_m));
    } else {
      const uint32_t columns = policy.vec_rows * (subgroup ? policy.vec_subgroups : 1u);
      groups_x = (p.N + columns - 1) / columns;
    }
    const double weight_bytes = double(hi - lo) * row_bytes;
    vk::OpCost cost{weight_bytes + 4.0 * args.M * (weight.cols + (hi - lo)),
                    2.0 * args.M * (hi - lo) * weight.cols * (args.weight_up ? 2 : 1)};
    vk::BufferRange x_texel(*args.x.buffer);
    const InputNorm* norm = args.input_norm;
    // Without a norm, X stands in for the gain (never read).
    const vk::Buffer& gamma = norm ? *norm->gamma.buffer : *args.x.buffer;
    vk::BufferRange gamma_texel(gamma);
    if (texel) x_texel.texel_format = gamma_texel.texel_format = VK_FORMAT_R32G32B32A32_SFLOAT;
    vk::BufferRange meta = blocks ? vk::BufferRange(chunk.meta) : vk::BufferRange(dummy);
    vk::BufferRange meta2 = up && blocks ? vk::BufferRange(up->meta) : meta;
    if (texel && blocks) meta.texel_format = meta2.texel_format = VK_FORMAT_R32_UINT;
    const std::array<vk::BufferRange, 12> bindings = {
        *args.x.buffer, w, w2, args.bias ? *args.bias.buffer : dummy,
        args.residual ? *args.residual.buffer : dummy, *args.y.buffer, x_texel, gamma,
        norm && norm->sums ? *norm->sums.buffer : dummy, gamma_texel,
        meta, meta2};
    stream.dispatch(kernel, std::span<const vk::BufferRange>(bindings.data(), blocks ? 12 : 10), p,
                    groups_x, groups_y, 1, tiled ? "matmul_tiled" : "matmul_vec", cost);
  }
}

void norm_sums(vk::CommandStream& stream, const Weight& weight, const Weight* weight_up,
               View gamma, View beta, View sums, const MatmulPolicy& policy) {
  for (int part = 0; part < (weight_up ? 2 : 1); ++part) {
    const Weight& w = part == 0 ? weight : *weight_up;
    // Row r of Y is column r of the sums: W.gamma, then W.beta.
    for (int row = 0; row < 2; ++row) {
      const View y = sums.at_row(2 * part + row);
      const View x = row == 0 ? gamma : beta;
      if (!x) {
        stream.fill(*y.buffer, uint64_t(y.offset) * 4, uint64_t(w.rows) * 4, 0u);
        continue;
      }
      MatmulArgs args;
      args.x = x;
      args.M = 1;
      args.weight = &w;
      args.y = y;
      matmul(stream, args, policy);
    }
  }
}

}  // namespace vkinfer::ops
