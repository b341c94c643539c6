// Shared between C++ and GLSL: lets push-constant structs be written once.
#ifndef VKINFER_PARAMS_COMMON_H
#define VKINFER_PARAMS_COMMON_H
#ifdef __cplusplus
#include <cstdint>
namespace vkinfer::params {
using uint = uint32_t;
}
#define VKINFER_PARAMS_BEGIN namespace vkinfer::params {
#define VKINFER_PARAMS_END }
#else
#define VKINFER_PARAMS_BEGIN
#define VKINFER_PARAMS_END
#endif

// Activation codes used by fused epilogues and the activation op.
#define ACT_NONE 0u
#define ACT_GELU_ERF 1u
#define ACT_GELU_TANH 2u
#define ACT_RELU 3u
#define ACT_SILU 4u
#define ACT_TANH 5u
#endif
