// The tensor plan's one slicing rule (weights/tensor_plan.h): the windows a
// rank reads for each split kind, checked by hand on small shapes, and the
// decoder and encoder plans' canonical names and split kinds.
#include <gtest/gtest.h>

#include <set>

#include "engine/core/error.h"
#include "engine/io/checkpoint.h"
#include "engine/model/decoder_weights.h"
#include "engine/model/encoder_weights.h"
#include "engine/weights/tensor_plan.h"
#include "tests/support/golden.h"

namespace vkinfer {
namespace {

struct Window {
  std::string name;
  int64_t row_begin, row_count, col_begin, col_count;
  bool operator==(const Window&) const = default;
};
std::vector<Window> windows(const TensorSlices& s) {
  std::vector<Window> out;
  for (const LinearSlice& w : s.windows) out.push_back({w.name, w.row_begin, w.row_count, w.col_begin, w.col_count});
  return out;
}
std::ostream& operator<<(std::ostream& os, const Window& w) {
  return os << w.name << " rows " << w.row_begin << "+" << w.row_count << " cols " << w.col_begin << "+" << w.col_count;
}

// Rank 1 of 2 of a model with 4 query heads, 2 kv heads, head_dim 3, MLP 10
// wide, a vocabulary of 7 (padded to 8).
SplitRanges rank1() {
  SplitRanges r;
  r.query_heads = {2, 2};
  r.kv_heads = {1, 1};
  r.intermediate = {5, 5};
  r.vocab = {4, 3};
  r.vocab_padding = 1;
  r.holds_row_bias = false;
  return r;
}

PlannedPart part(const std::string& source, Dim dim, int64_t unit, int64_t offset = 0, int64_t stride = 0,
                 int64_t count = 0) {
  PlannedPart p;
  p.source = source;
  p.dim = dim;
  p.unit = unit;
  p.offset = offset;
  p.stride = stride;
  p.count = count;
  return p;
}

TEST(TensorPlan, ColumnSplitTakesTheRanksHeadsOfEachPart) {
  PlannedTensor qkv;
  qkv.split = Split::kColumn;
  qkv.cols = 12;
  qkv.parts = {part("q", Dim::kQueryHeads, 3), part("k", Dim::kKvHeads, 3), part("v", Dim::kKvHeads, 3)};
  EXPECT_EQ(windows(slices(qkv, rank1())),
            (std::vector<Window>{{"q", 6, 6, 0, 12}, {"k", 3, 3, 0, 12}, {"v", 3, 3, 0, 12}}));
}

TEST(TensorPlan, InterleavedHeadsAreReadHeadByHead) {
  // GPT-NeoX: per head [q k v] of 3 rows each, so head h's k starts at 9h + 3.
  PlannedTensor qkv;
  qkv.split = Split::kColumn;
  qkv.cols = 12;
  qkv.parts = {part("w", Dim::kQueryHeads, 3, 0, 9), part("w", Dim::kKvHeads, 3, 3, 9)};
  EXPECT_EQ(windows(slices(qkv, rank1())),
            (std::vector<Window>{{"w", 18, 3, 0, 12}, {"w", 27, 3, 0, 12}, {"w", 12, 3, 0, 12}}));
}

TEST(TensorPlan, RowSplitTakesTheRanksInputColumnsAndDropsTheBias) {
  PlannedTensor down;
  down.split = Split::kRow;
  down.cols = 10;
  down.col_dim = Dim::kIntermediate;
  down.parts = {part("down", Dim::kWhole, 1, 0, 0, 12)};
  EXPECT_EQ(windows(slices(down, rank1())), (std::vector<Window>{{"down", 0, 12, 5, 5}}));
  PlannedTensor bias = down;
  bias.kind = TensorKind::kVector;
  EXPECT_TRUE(slices(bias, rank1()).windows.empty()) << "only rank 0 adds a row-parallel bias";
  SplitRanges rank0 = rank1();
  rank0.holds_row_bias = true;
  EXPECT_EQ(windows(slices(bias, rank0)), (std::vector<Window>{{"down", 0, 1, 0, 12}}));
}

TEST(TensorPlan, VocabSplitPadsTheLastSlice) {
  PlannedTensor embed;
  embed.split = Split::kVocab;
  embed.cols = 12;
  embed.parts = {part("wte", Dim::kVocab, 1)};
  const TensorSlices s = slices(embed, rank1());
  EXPECT_EQ(windows(s), (std::vector<Window>{{"wte", 4, 3, 0, 12}}));
  EXPECT_EQ(s.pad_rows, 1);
}

TEST(TensorPlan, ASplitTensorMustNameItsDimension) {
  PlannedTensor bad;
  bad.split = Split::kColumn;
  bad.parts = {part("q", Dim::kWhole, 1, 0, 0, 4)};
  EXPECT_THROW(slices(bad, rank1()), Error);
}

// Every family's plan names each tensor once, by layer, with the split its
// Megatron role has.
TEST(TensorPlan, FamilyPlansNameEveryTensorOnceWithItsSplit) {
  for (const char* name : {"gpt2", "llama", "opt", "gptj", "gpt_neox"}) {
    SCOPED_TRACE(name);
    const std::string dir = testing::model_dir(name);
    const ModelConfig model = ModelConfig::load(dir);
    const Checkpoint checkpoint = Checkpoint::open(dir);
    const WeightLoader loader(checkpoint, nullptr, DType::kF32);
    const DecoderConfig& c = model.decoder();
    const auto plan = decoder_tensor_plan(loader, c, plan_stages(c.num_layers, 1)[0]);
    std::set<std::string> keys;
    for (const PlannedTensor& t : plan) {
      EXPECT_TRUE(keys.insert(t.key).second) << t.key << " planned twice";
      if (t.key.ends_with(".qkv") || t.key.ends_with(".mlp_up")) EXPECT_EQ(t.split, Split::kColumn) << t.key;
      if (t.key.ends_with(".attn_out") || t.key.ends_with(".mlp_down")) EXPECT_EQ(t.split, Split::kRow) << t.key;
      if (t.key == "embed") EXPECT_EQ(t.split, Split::kVocab);
      if (t.key.starts_with("layers.")) EXPECT_GE(t.layer, 0) << t.key;
    }
    for (int64_t i = 0; i < c.num_layers; ++i)
      for (const char* tensor : {"qkv", "attn_out", "mlp_up", "mlp_down", "attn_norm.gain"})
        EXPECT_TRUE(keys.count("layers." + std::to_string(i) + "." + tensor)) << i << " " << tensor;
  }
  const std::string dir = testing::model_dir("bert");
  const ModelConfig model = ModelConfig::load(dir);
  const Checkpoint checkpoint = Checkpoint::open(dir);
  const WeightLoader loader(checkpoint, nullptr, DType::kF32);
  std::set<std::string> keys;
  for (const PlannedTensor& t : encoder_tensor_plan(loader, model.bert()))
    EXPECT_TRUE(keys.insert(t.key).second) << t.key;
  EXPECT_TRUE(keys.count("classifier") && keys.count("layers.1.mlp_down_bias") && keys.count("embed"));
}

}  // namespace
}  // namespace vkinfer
