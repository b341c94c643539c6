// OpenAI's stop sequences over streamed text: the text returned stops just
// before the first stop sequence, which is itself never returned. Text that
// could still become the start of one is held back until the next piece
// shows whether it does, so a stream never sends what a stop sequence later
// claims. (The CLI's generate keeps the stop string, as transformers'
// stop_strings do; the server answers as OpenAI's API does.)
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vkinfer::server {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  // Takes the next piece of text (complete UTF-8); returns what may be sent
  // now. Once a stop sequence is complete, `stopped()` is true and the
  // returned text ends just before it; nothing more is returned after that.
  std::string push(std::string_view piece);
  // The end of the text (no stop sequence completed): the held-back rest,
  // after `piece` (the decoder's last bytes), cut at a stop sequence if
  // `piece` completes one.
  std::string finish(std::string_view piece = {});
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;  // a suffix that is a proper prefix of a stop sequence
  bool stopped_ = false;
};

}  // namespace vkinfer::server
