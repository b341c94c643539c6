// StopMatcher: find the earliest complete stop sequence in the held text and
// the new piece; otherwise hold back the longest suffix that begins one.
// Stop sequences and text are valid UTF-8, and a stop sequence begins with a
// lead byte, so the held suffix always begins on a character boundary.
#include "server/stop_matcher.h"

#include <algorithm>
#include <utility>

namespace vkinfer::server {

StopMatcher::StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

std::string StopMatcher::push(std::string_view piece) {
  if (stopped_) return {};
  std::string text = std::move(held_);
  held_.clear();
  text.append(piece);
  size_t first = std::string::npos;
  for (const std::string& stop : stops_) first = std::min(first, text.find(stop));
  if (first != std::string::npos) {
    stopped_ = true;
    text.resize(first);
    return text;
  }
  // The longest suffix of `text` that is a proper prefix of a stop sequence.
  size_t keep = 0;
  for (const std::string& stop : stops_)
    for (size_t length = std::min(stop.size() - 1, text.size()); length > keep; --length)
      if (std::string_view(text).substr(text.size() - length) == std::string_view(stop).substr(0, length)) {
        keep = length;
        break;
      }
  held_ = text.substr(text.size() - keep);
  text.resize(text.size() - keep);
  return text;
}

std::string StopMatcher::finish(std::string_view piece) {
  std::string text = push(piece);
  if (!stopped_) text += std::exchange(held_, {});
  return text;
}

}  // namespace vkinfer::server
