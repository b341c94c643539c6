// Greedy sampling: the first index of each row's maximum (torch.argmax,
// NaN counts as the largest value). Only these ids cross back to the host.
#pragma once

#include "engine/ops/policy.h"
#include "engine/ops/view.h"
#include "engine/vk/command_stream.h"

namespace vkinfer::ops {

// x [M, N]; out_ids: uint32 per row at out_ids.buffer[out_ids.offset + m].
// Without a policy the device's choose_policy() reduction is used.
void argmax(vk::CommandStream& stream, View x, int64_t M, int64_t N, View out_ids);
void argmax(vk::CommandStream& stream, View x, int64_t M, int64_t N, View out_ids,
            const ReducePolicy& policy);

}  // namespace vkinfer::ops
