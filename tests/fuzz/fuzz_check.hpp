// What every fuzz target checks of an Error: a short single line, whatever the input held.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "acmon/core/result.hpp"

namespace acmon::fuzz {

[[noreturn]] inline void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz check failed: %s: %.300s\n", what, detail.c_str());
  std::abort();
}

inline void check(bool ok, const char* what, const std::string& detail = {}) {
  if (!ok) {
    fail(what, detail);
  }
}

// describe() is what reaches logs and the store.
inline void check_error(const Error& e) {
  const std::string d = e.describe();
  check(d.size() <= 1024, "an error description longer than 1 KiB", d);
  check(d.find_first_of("\r\n") == std::string::npos, "an error description with a line break", d);
}

}  // namespace acmon::fuzz
