// Y[m, y_col0 + n] = act(X[m, :] . W[n, :] + b[n]) (+ R[m, n])  for one weight chunk.
// GLU, NORM, NORM_RMS and the activation code are the EPILOGUE specialization
// constant (they change the kernel's loop or its transcendental code); BIAS
// and RESIDUAL are push-constant `flags`, so they do not multiply pipelines.
// All offsets/strides are in elements of the bound buffer.
#ifndef VKINFER_PARAMS_MATMUL_H
#define VKINFER_PARAMS_MATMUL_H
#include "params/common.h"

#define MATMUL_FLAG_BIAS 1u
#define MATMUL_FLAG_RESIDUAL 2u
#define MATMUL_FLAG_GLU 4u   // out = act(X.Wg) * (X.Wu): W = gate, W2 = up
// X is a norm's input, not its output (decode): the kernel takes each row's
// statistics while it reads X, multiplies X by the gain as it goes, and the
// epilogue finishes the norm through the weight rows' sums (see matmul.h).
#define MATMUL_FLAG_NORM 16u
#define MATMUL_FLAG_NORM_RMS 32u  // with NORM: RMSNorm (no mean, no bias)
#define MATMUL_ACT_SHIFT 8u  // activation code in bits 8..15

VKINFER_PARAMS_BEGIN
#define MATMUL_PARAMS_FIELDS \
  uint M;            \
  uint N;            \
  uint K;            \
  uint x_offset;     \
  uint x_stride;     \
  uint w_stride;     \
  uint y_offset;     \
  uint y_stride;     \
  uint r_offset;     \
  uint r_stride;     \
  uint bias_offset;  \
  uint gamma_offset; /* NORM: the gain, [K] */                           \
  uint sums_offset;  /* NORM (LayerNorm): W.gamma at +n, W.beta at +stride+n, */ \
  uint sums_stride;  /* then GLU's up weight's two rows */                 \
  float norm_eps;     \
  uint flags;        /* MATMUL_FLAG_BIAS | MATMUL_FLAG_RESIDUAL */ \
  uint w_row0;       /* block weights: rows of the bound chunk before row 0 */
#ifdef __cplusplus
struct MatmulParams { MATMUL_PARAMS_FIELDS };
static_assert(sizeof(MatmulParams) <= 128);
#endif
VKINFER_PARAMS_END
#endif
