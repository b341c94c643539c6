// StopMatcher: OpenAI's stop sequences over text that arrives in pieces.
// Whatever the cut into pieces, the concatenated output is the text up to
// the first stop sequence, without it, and no piece sends a byte that a
// stop sequence later claims.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/stop_matcher.h"

namespace vkinfer::server {
namespace {

// Feeds `pieces`, then finishes; returns every output and whether it stopped.
std::pair<std::vector<std::string>, bool> run(const std::vector<std::string>& stops,
                                              const std::vector<std::string>& pieces) {
  StopMatcher matcher(stops);
  std::vector<std::string> out;
  for (const std::string& piece : pieces) {
    out.push_back(matcher.push(piece));
    if (matcher.stopped()) return {out, true};
  }
  out.push_back(matcher.finish());
  return {out, matcher.stopped()};
}

std::string joined(const std::vector<std::string>& parts) {
  std::string all;
  for (const std::string& p : parts) all += p;
  return all;
}

// The expected result: the text before the earliest stop sequence.
std::string reference(const std::string& text, const std::vector<std::string>& stops) {
  size_t first = std::string::npos;
  for (const std::string& s : stops)
    if (!s.empty()) first = std::min(first, text.find(s));
  return first == std::string::npos ? text : text.substr(0, first);
}

TEST(StopMatcher, HoldsBackAPossibleStartAndDropsTheStopSequence) {
  auto [out, stopped] = run({"###"}, {"Hello #", "#", "# world"});
  EXPECT_TRUE(stopped);
  EXPECT_EQ(out, (std::vector<std::string>{"Hello ", "", ""}));
}

TEST(StopMatcher, ReleasesHeldTextThatTurnsOutNotToStop) {
  auto [out, stopped] = run({"###"}, {"a #", "#b", "c"});
  EXPECT_FALSE(stopped);
  EXPECT_EQ(out, (std::vector<std::string>{"a ", "##b", "c", ""}));
}

TEST(StopMatcher, FinishSendsWhatWasHeld) {
  auto [out, stopped] = run({"</s>"}, {"end </"});
  EXPECT_FALSE(stopped);
  EXPECT_EQ(out, (std::vector<std::string>{"end ", "</"}));
}

TEST(StopMatcher, TheEarliestOfSeveralStopsWins) {
  auto [out, stopped] = run({"world", "lo w"}, {"hello world"});
  EXPECT_TRUE(stopped);
  EXPECT_EQ(joined(out), "hel");
}

TEST(StopMatcher, MultiByteCharactersAreNeverSplit) {
  // The stop begins with the text's last character: all of it is held.
  auto [out, stopped] = run({"\xc3\xa9t\xc3\xa9"}, {"caf\xc3\xa9", " \xc3\xa9", "t\xc3\xa9!"});
  EXPECT_TRUE(stopped);
  EXPECT_EQ(out, (std::vector<std::string>{"caf", "\xc3\xa9 ", ""}));
}

TEST(StopMatcher, NoStopsPassEverythingThrough) {
  auto [out, stopped] = run({"", ""}, {"a", "b"});
  EXPECT_FALSE(stopped);
  EXPECT_EQ(out, (std::vector<std::string>{"a", "b", ""}));
}

TEST(StopMatcher, FinishCanCompleteAStop) {
  StopMatcher matcher({"xyz"});
  EXPECT_EQ(matcher.push("abc x"), "abc ");
  EXPECT_EQ(matcher.finish("yz!"), "");
  EXPECT_TRUE(matcher.stopped());
}

// Every cut of a few texts into pieces gives the reference, and no output
// ever holds text past the reference's end.
TEST(StopMatcher, AnyCutGivesTheReference) {
  const std::vector<std::vector<std::string>> stop_sets = {{"ab"}, {"aab", "b a"}, {"abab"}, {"a"}};
  const std::vector<std::string> texts = {"xaabab a", "aaaa", "b ab abab", "", "zzz"};
  for (const auto& stops : stop_sets)
    for (const std::string& text : texts)
      for (unsigned mask = 0; mask < (1u << (text.size() > 1 ? text.size() - 1 : 0)); ++mask) {
        std::vector<std::string> pieces(1);
        for (size_t i = 0; i < text.size(); ++i) {
          pieces.back() += text[i];
          if (i + 1 < text.size() && (mask >> i & 1u)) pieces.emplace_back();
        }
        const std::string want = reference(text, stops);
        auto [out, stopped] = run(stops, pieces);
        EXPECT_EQ(joined(out), want) << text << " cut " << mask;
        EXPECT_EQ(stopped, want.size() != text.size()) << text << " cut " << mask;
      }
}

}  // namespace
}  // namespace vkinfer::server
