// Token sampling in two kernels, so tensor-parallel ranks exchange only a few
// candidates per row, never the full logits:
//   sample_candidates: one rank's vocab slice [B, V_local] -> its top-C
//     (global id, processed logit) pairs + (max, sum exp) stats per row;
//   sample_finish: the candidates and stats of R ranks, laid out rank-major
//     as all_gather produces them ([R][B][C] and [R][B]) -> one token per row.
// Offsets and strides are in elements of the bound buffer.
#ifndef VKINFER_PARAMS_SAMPLING_H
#define VKINFER_PARAMS_SAMPLING_H
#include "params/common.h"

// The most candidates one rank contributes per row (shared-memory capacity).
#define SAMPLING_MAX_CANDIDATES 256u
// Marks an empty candidate slot (a slice with fewer valid columns than C).
#define SAMPLING_NO_ID 0xFFFFFFFFu
// The most alternatives a logprob request may ask for (OpenAI's chat limit,
// vLLM's and llama.cpp's for completions too).
#define SAMPLING_MAX_LOGPROBS 20u

#define SAMPLING_FLAG_PENALTY 1u  // apply the repetition penalty to seen ids
#define SAMPLING_FLAG_GUMBEL 2u   // full-vocab sampling through the Gumbel-max trick
#define SAMPLING_FLAG_GREEDY 4u   // argmax; finish ignores top-k/top-p/seed
// The logprob pass (candidates kernel on the raw logits, after the finish):
// the stats' gumbel fields report the row's chosen id (read from binding 4)
// and its logit when this slice holds it, instead of a Gumbel winner.
#define SAMPLING_FLAG_CHOSEN 8u

VKINFER_PARAMS_BEGIN
#define SAMPLE_CANDIDATES_PARAMS_FIELDS                                      \
  uint logits_offset;  /* element of row 0, column 0 */                      \
  uint logits_stride;  /* elements between rows */                           \
  uint vocab_offset;   /* global id of this slice's column 0 */              \
  uint vocab_valid;    /* real columns; the rest is padding, never chosen */ \
  uint seen_words;     /* uint32 words per row of the seen bitmap */         \
  uint candidates;     /* C: top-C kept per row, 1..SAMPLING_MAX_CANDIDATES */ \
  uint flags;                                                                \
  float penalty;                                                             \
  float temperature;                                                         \
  uint seed_lo;                                                              \
  uint seed_hi;                                                              \
  uint step;
#define SAMPLE_FINISH_PARAMS_FIELDS                                          \
  uint ranks;          /* R */                                               \
  uint candidates;     /* C per rank and row; also the merged list's length */ \
  uint rows;           /* B: rank r's rows start at r * B */                 \
  uint seen_words;                                                           \
  uint top_k;          /* 0 = off */                                         \
  float top_p;         /* 1 = off */                                         \
  uint flags;                                                                \
  uint seed_lo;                                                              \
  uint seed_hi;                                                              \
  uint step;
#ifdef __cplusplus
struct SampleCandidatesParams { SAMPLE_CANDIDATES_PARAMS_FIELDS };
struct SampleFinishParams { SAMPLE_FINISH_PARAMS_FIELDS };
static_assert(sizeof(SampleCandidatesParams) <= 128);
static_assert(sizeof(SampleFinishParams) <= 128);

// Buffer records, matching the std430 structs in the shaders.
struct SampleCandidate {
  uint id;      // global token id, SAMPLING_NO_ID for an empty slot
  float logit;  // after repetition penalty and temperature
};
struct SampleStats {
  float max;         // of the processed logits of the slice
  float sum_exp;     // sum exp(logit - max) over the slice
  uint gumbel_id;    // Gumbel-max winner of the slice (SAMPLING_FLAG_GUMBEL); with
                     // SAMPLING_FLAG_CHOSEN the chosen id if the slice holds it, else NO_ID
  float gumbel_key;  // its logit + Gumbel noise; with SAMPLING_FLAG_CHOSEN its logit
};
struct FinalCandidate {
  uint id;     // global token id of the merged top-C, SAMPLING_NO_ID when empty
  float prob;  // probability it was sampled with; 0 when filtered out
};
static_assert(sizeof(SampleCandidate) == 8 && sizeof(SampleStats) == 16 &&
              sizeof(FinalCandidate) == 8);
#endif
VKINFER_PARAMS_END
#endif
