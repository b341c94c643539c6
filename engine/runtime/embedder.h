// Sentence embeddings as sentence-transformers' encode() computes them, over
// encoders loaded with a pooling head: texts are stripped (Python str.strip),
// lowercased when the folder says do_lower_case, tokenized with [CLS]/[SEP]
// and cut to max_seq_length tokens (specials included) exactly as its
// tokenizer call with truncation="longest_first" does; inputs of similar
// length share a forward (the buckets and batches of classify), and every
// rank of a dp x tp grid returns every input's vector, in input order.
#pragma once

#include <string>
#include <vector>

#include "engine/model/encoder.h"
#include "engine/model/sentence_config.h"
#include "engine/parallel/communicator.h"

namespace vkinfer {

class Tokenizer;

struct Embedding {
  std::vector<float> values;  // [dim]
  int64_t tokens = 0;         // length with [CLS] and [SEP], after truncation
  int64_t bucket = 0;         // padded length it ran at
};

// The encoder head that computes `config`'s pooling (and Normalize).
EncoderHead embedding_head(const SentenceConfig& config);

// Buckets for an embedding model: classify's powers of two from 128 capped
// at max_seq_length by default; `requested` (--buckets) must lie in
// [1, max_seq_length], and max_seq_length is added when missing, since any
// text may be cut to that many tokens.
std::vector<int64_t> embedding_buckets(const SentenceConfig& config, std::vector<int64_t> requested);

// sentence-transformers' Transformer.tokenize for one text (see above).
EncoderInput tokenize_for_embedding(const Tokenizer& tokenizer, const SentenceConfig& config,
                                    const std::string& text);

// One rank of a dp x tp grid of encoder replicas inside run_ranks, like
// classify_on_rank: replica r runs forwards r, r + dp, ...; the vectors are
// then summed over `dp` (each input is written by one replica only, the
// others add exact zeros), so every rank returns every embedding.
std::vector<Embedding> embed_on_rank(Encoder& encoder, vk::CommandStream& stream, Communicator& dp,
                                     int replica, const std::vector<EncoderInput>& inputs, int64_t batch);

}  // namespace vkinfer
