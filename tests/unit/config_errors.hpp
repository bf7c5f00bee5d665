// What the configuration tests share: the error a text gives, and a check of its file, line, key
// and message.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "acmon/core/config.hpp"

namespace acmon::testing {

// Parses text as "acmon.toml" and returns the error, failing the test when there is none.
inline config::ConfigError error_of(const std::string& text) {
  try {
    config::parse(text, "acmon.toml");
  } catch (const config::ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return config::ConfigError("", 0, "", "");
}

// The error of text is at line (0: none) and key, says what, and reads "acmon.toml:LINE: KEY: …".
inline void expect_error(const std::string& text, int line, const std::string& key, const std::string& what) {
  const config::ConfigError e = error_of(text);
  EXPECT_EQ(e.file(), "acmon.toml");
  EXPECT_EQ(e.line(), line) << e.what();
  EXPECT_EQ(e.key(), key) << e.what();
  EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  if (line > 0) {
    const std::string prefix = "acmon.toml:" + std::to_string(line) + ": " + (key.empty() ? "" : key + ": ");
    EXPECT_EQ(std::string(e.what()).rfind(prefix, 0), 0U) << e.what();
  }
}

}  // namespace acmon::testing
