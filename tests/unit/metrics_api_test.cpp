// API call metrics: the code label takes a bounded set of values, whatever a server answers.
#include <gtest/gtest.h>

#include <set>

#include "acmon/metrics/exporter.hpp"

using namespace acmon;

namespace {

// The code label values of acmon_api_requests_total in the exposition.
std::set<std::string> codes(const metrics::ApiMetrics& m) {
  const std::string text = metrics::render({m.registry()});
  std::set<std::string> out;
  std::size_t pos = 0;
  while ((pos = text.find("acmon_api_requests_total{", pos)) != std::string::npos) {
    const auto line_end = text.find('\n', pos);
    const auto label = text.find("code=\"", pos);
    if (label != std::string::npos && label < line_end) {
      const auto start = label + 6;
      out.insert(text.substr(start, text.find('"', start) - start));
    }
    pos = line_end;
  }
  return out;
}

}  // namespace

TEST(ApiMetricsLabels, UnknownCodesFoldIntoOther) {
  metrics::ApiMetrics m;
  for (int i = 0; i < 500; ++i) {
    m.on_attempt("smc", "ListAccessTokens", "Invented.Code" + std::to_string(i) + "\nx", 0.01);
  }
  for (const char* known : {"200", "503", "network", "timeout", "Throttling.User", "InvalidParam.PageSize",
                            "RegionId.ApiNotSupported", "SignatureDoesNotMatch", "NoPermission", "parse"}) {
    m.on_attempt("smc", "ListAccessTokens", known, 0.01);
  }
  const auto seen = codes(m);
  EXPECT_EQ(seen, (std::set<std::string>{"200", "503", "network", "timeout", "Throttling.User", "InvalidParam.PageSize",
                                         "RegionId.ApiNotSupported", "SignatureDoesNotMatch", "NoPermission", "parse",
                                         "other"}));
}

TEST(ApiMetricsLabels, OnlyRealHttpStatusesAreKept) {
  metrics::ApiMetrics m;
  for (const char* code : {"0", "99", "600", "0200", "2000", "-1", "20x"}) {
    m.on_attempt("ecs", "DescribeActivations", code, 0.01);
  }
  EXPECT_EQ(codes(m), (std::set<std::string>{"other"}));
}
