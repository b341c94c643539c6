// The element index of key (or value) position `pos` of kv head `kv_head`
// of sequence `seq` in a KV cache, relative to its k_offset/v_offset.
// Unpaged (page_shift 0): sequence `kv_first_seq + seq` owns a contiguous
// [kv_heads][positions][head_dim] block at kv_seq_stride. Paged: the cache
// is a pool of pages of 2^page_shift positions, [page][kv_heads][positions]
// [head_dim] with kv_seq_stride between pages, and row `kv_first_seq + seq`
// of the page table (pages_per_seq entries) names the page that holds each
// run of positions. Expects the push constants `pc` to hold kv_seq_stride,
// kv_head_stride, kv_pos_stride, page_shift, pages_per_seq and kv_first_seq,
// and the table as uint page_table[].
#ifndef VKINFER_KV_PAGES_GLSL
#define VKINFER_KV_PAGES_GLSL

uint kv_index(uint seq, uint kv_head, uint pos) {
  const uint table_row = pc.kv_first_seq + seq;
  if (pc.page_shift == 0u)
    return table_row * pc.kv_seq_stride + kv_head * pc.kv_head_stride + pos * pc.kv_pos_stride;
  const uint page = page_table[table_row * pc.pages_per_seq + (pos >> pc.page_shift)];
  const uint within = pos & ((1u << pc.page_shift) - 1u);
  return page * pc.kv_seq_stride + kv_head * pc.kv_head_stride + within * pc.kv_pos_stride;
}

// Loops that visit one sequence's positions in order can read the page table
// once per run of positions instead of once per position: kv_run(pos) is the
// run (page) holding pos, kv_run_first(run) its first position. Unpaged, the
// whole sequence is one run.
uint kv_run(uint pos) { return pc.page_shift == 0u ? 0u : pos >> pc.page_shift; }
uint kv_run_first(uint run) { return pc.page_shift == 0u ? 0u : run << pc.page_shift; }

#endif
