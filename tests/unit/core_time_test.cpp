#include <gtest/gtest.h>

#include "acmon/core/time.hpp"

using namespace acmon;

TEST(Rfc3339, ParsesUtcOffsetsAndFractions) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339("2022-09-09T02:35:44Z"), 1662690944);
  EXPECT_EQ(parse_rfc3339("2022-09-09T10:35:44+08:00"), 1662690944);
  EXPECT_EQ(parse_rfc3339("2022-09-09T02:35:44.123Z"), 1662690944);
  EXPECT_EQ(parse_rfc3339(" 2022-09-09T02:35:44Z\n"), 1662690944);
  EXPECT_EQ(parse_rfc3339("2024-02-29T00:00:00Z"), 1709164800);
}

TEST(Rfc3339, RefusesWhatIsNotATime) {
  for (const char* bad :
       {"", "2022-09-09", "2022-09-09T02:35:44", "2022-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2022-09-09T25:00:00Z",
        "2022-09-09T02:35:44X", "2022-09-09 02:35:44Z", "garbage!!!!!!!!!!!!!!"}) {
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
  }
}

TEST(Rfc3339, FormatsUtcWithZ) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(1662690944), "2022-09-09T02:35:44Z");
  EXPECT_EQ(format_rfc3339(2551707980), "2050-11-10T15:46:20Z");
  for (UnixTime t : {UnixTime{951782400}, UnixTime{4107542399}, UnixTime{1709164800}}) {
    EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t);
  }
}

TEST(Zoneless, ReadsPolarDbTimesWithTrailingNewlineAtAnOffset) {
  EXPECT_EQ(parse_zoneless("2024-10-16 16:46:20\n", 0), 1729097180);
  EXPECT_EQ(parse_zoneless("2024-10-16 16:46:20", 8 * 3600), 1729097180 - 8 * 3600);
  EXPECT_EQ(parse_zoneless("\t2024-10-16 16:46:20 ", -3600), 1729097180 + 3600);
  EXPECT_FALSE(parse_zoneless("2024-10-16 16:46:20Z", 0).has_value());
  EXPECT_FALSE(parse_zoneless("2024-10-16", 0).has_value());
}

TEST(UtcOffset, Parses) {
  EXPECT_EQ(parse_utc_offset("+08:00"), 8 * 3600);
  EXPECT_EQ(parse_utc_offset("-05:30"), -(5 * 3600 + 1800));
  EXPECT_EQ(parse_utc_offset("Z"), 0);
  EXPECT_FALSE(parse_utc_offset("+8").has_value());
  EXPECT_FALSE(parse_utc_offset("+24:00").has_value());
}

TEST(Duration, ParsesUnitsAndCompounds) {
  EXPECT_EQ(parse_duration("30s"), 30);
  EXPECT_EQ(parse_duration("5m"), 300);
  EXPECT_EQ(parse_duration("2h"), 7200);
  EXPECT_EQ(parse_duration("7d"), 7 * 86400);
  EXPECT_EQ(parse_duration("1h30m"), 5400);
  for (const char* bad : {"", "5", "m", "5x", "-5m", "0s", "5 m", "1.5h", "10000000000s"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(Span, HumanText) {
  EXPECT_EQ(format_span(2 * 86400 + 3 * 3600 + 59), "2d 3h");
  EXPECT_EQ(format_span(86400), "1d");
  EXPECT_EQ(format_span(3 * 3600 + 5 * 60), "3h 5m");
  EXPECT_EQ(format_span(45 * 60), "45m");
  EXPECT_EQ(format_span(30), "30s");
  EXPECT_EQ(format_span(-5), "0s");
}
