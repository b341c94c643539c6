// Small helpers the model graphs share.
#pragma once

#include "engine/model/config.h"
#include "engine/ops/activation.h"
#include "engine/ops/view.h"

namespace vkinfer {

inline ops::Act op_activation(Activation activation) {
  switch (activation) {
    case Activation::kGeluErf: return ops::Act::kGeluErf;
    case Activation::kGeluTanh: return ops::Act::kGeluTanh;
    case Activation::kRelu: return ops::Act::kRelu;
    case Activation::kSilu: return ops::Act::kSilu;
  }
  return ops::Act::kNone;
}

// An optional weight vector (bias, norm gain): absent tensors bind nothing.
inline ops::View optional_view(const Tensor& tensor) {
  return tensor.rows ? ops::View(tensor) : ops::View();
}

}  // namespace vkinfer
