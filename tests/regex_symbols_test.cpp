// libonig exports POSIX regcomp/regexec/regfree under glibc's names. The
// process must keep glibc's: Mesa's driconf calls them while the Vulkan
// driver loads, and Oniguruma's regex_t is not glibc's (a mix of the two,
// as ASan's interceptors produced, deadlocked inside regexec). The link
// order in CMakeLists.txt names libc before libonig; this checks that the
// dynamic linker resolves all three to libc, and that glibc's regex works.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <regex.h>

#include <string>

namespace {

std::string library_of(const char* symbol) {
  void* address = dlsym(RTLD_DEFAULT, symbol);
  Dl_info info{};
  if (!address || !dladdr(address, &info) || !info.dli_fname) return "(unresolved)";
  return info.dli_fname;
}

TEST(RegexSymbols, PosixRegexResolvesToLibc) {
  for (const char* symbol : {"regcomp", "regexec", "regfree"}) {
    const std::string library = library_of(symbol);
    EXPECT_EQ(library.find("libonig"), std::string::npos) << symbol << " resolves to " << library;
  }
  // glibc's POSIX ERE, as driconf uses it: Oniguruma's syntax would differ.
  regex_t regex;
  ASSERT_EQ(regcomp(&regex, "^vk(info|infer)$", REG_EXTENDED | REG_NOSUB), 0);
  EXPECT_EQ(regexec(&regex, "vkinfer", 0, nullptr, 0), 0);
  EXPECT_NE(regexec(&regex, "vkcube", 0, nullptr, 0), 0);
  regfree(&regex);
}

}  // namespace
