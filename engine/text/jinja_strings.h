// Python's str methods on UTF-8 text, as chat templates call them
// (`content.strip()`, `role.title()`, `text.split('\n')`) and as jinja2's
// filters use them (trim, upper, title...). Whitespace is str.isspace()'s,
// case mapping is Unicode's full mapping (ICU), as CPython has it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vkinfer::jinja::pystr {

// str.strip/lstrip/rstrip(chars); chars == nullptr: whitespace.
std::string strip(const std::string& s, const std::string* chars, bool left, bool right);
std::string upper(const std::string& s);
std::string lower(const std::string& s);
std::string title(const std::string& s);       // str.title()
std::string capitalize(const std::string& s);  // str.capitalize()
std::string jinja_title(const std::string& s); // jinja2's title filter: words split on -, space, ( { [ <
// str.split(sep, maxsplit); sep == nullptr: runs of whitespace. Throws for
// an empty separator, as Python does.
std::vector<std::string> split(const std::string& s, const std::string* sep, int64_t maxsplit);
std::string replace(const std::string& s, const std::string& old, const std::string& with, int64_t count);
// str.find (a code point index, -1 when absent) and str.count.
int64_t find(const std::string& s, const std::string& sub);
int64_t count(const std::string& s, const std::string& sub);
int64_t length(const std::string& s);  // code points
bool is_lower(const std::string& s);   // str.islower()
bool is_upper(const std::string& s);   // str.isupper()

}  // namespace vkinfer::jinja::pystr
