// The alert rules as a pure function of state, configuration and time; notification bodies; the
// text exposition of the state.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "acmon/daemon/alerts.hpp"
#include "acmon/daemon/notify.hpp"
#include "acmon/daemon/status_page.hpp"
#include "acmon/metrics/exporter.hpp"

using namespace acmon;

namespace {

const UnixTime k_now = 1'800'000'000;

config::Config make_config() {
  return config::parse(R"(
[[accounts]]
name = "prod"
credentials = "env"
[[collectors]]
account = "prod"
product = "smc"
interval = "5m"
[[collectors]]
account = "prod"
product = "ecs"
regions = ["cn-hangzhou"]
expiry_warning = "12h"
expiry_critical = "2h"
usage_warning = 0.5
usage_critical = 0.9
[alerts]
expiry_warning = "7d"
expiry_critical = "1d"
usage_warning = 0.8
usage_critical = 0.95
)",
                       "t.toml");
}

model::StoredCode smc(const std::string& id, std::optional<std::int64_t> left, std::int64_t used = 0,
                      std::int64_t limit = 100) {
  model::StoredCode s;
  s.collector = "prod-smc";
  s.code.product = config::Product::smc;
  s.code.account = "prod";
  s.code.id = id;
  s.code.name = "n-" + id;
  s.code.limit = limit;
  s.code.registered = used;
  if (left) {
    s.code.expires_at = k_now + *left;
  }
  s.code.api_status = "activated";
  s.state = model::derive_state(s.code, k_now);
  return s;
}

std::set<std::string> fired(const std::vector<model::StoredCode>& codes, std::vector<model::ScopeStatus> scopes = {}) {
  std::set<std::string> out;
  for (const auto& a : daemon::evaluate_alerts(codes, std::move(scopes), make_config(), k_now)) {
    out.insert(a.rule + " " + a.severity + " " + (a.is_code_alert() ? a.code_id : a.collector) + " " +
               a.summary_at(k_now));
  }
  return out;
}

}  // namespace

TEST(AlertRules, ExpiryBoundaries) {
  EXPECT_EQ(fired({smc("a", 7 * 86400 + 1)}), std::set<std::string>{});
  EXPECT_EQ(fired({smc("a", 7 * 86400)}), (std::set<std::string>{"code_expiring warning a expires in 7d"}));
  EXPECT_EQ(fired({smc("a", 86400 + 1)}), (std::set<std::string>{"code_expiring warning a expires in 1d"}));
  EXPECT_EQ(fired({smc("a", 86400)}), (std::set<std::string>{"code_expiring critical a expires in 1d"}));
  EXPECT_EQ(fired({smc("a", 2 * 86400 + 3 * 3600)}),
            (std::set<std::string>{"code_expiring warning a expires in 2d 3h"}));
  EXPECT_EQ(fired({smc("a", 1)}), (std::set<std::string>{"code_expiring critical a expires in 1s"}));
  EXPECT_EQ(fired({smc("a", 0)}), std::set<std::string>{});  // expired: no longer "expiring"
  EXPECT_EQ(fired({smc("a", std::nullopt)}), std::set<std::string>{});
}

TEST(AlertRules, OnlyActiveCodesExpire) {
  auto disabled = smc("a", 3600);
  disabled.code.api_status = "disabled";
  disabled.state = model::CodeState::disabled;
  auto exhausted = smc("b", 3600, 100, 100);
  EXPECT_EQ(exhausted.state, model::CodeState::exhausted);
  EXPECT_EQ(fired({disabled}), std::set<std::string>{});
  // Exhausted: no expiry alert (it is already unusable), but usage is critical.
  EXPECT_EQ(fired({exhausted}), (std::set<std::string>{"code_usage_high critical b 100/100 used"}));
}

TEST(AlertRules, UsageBoundaries) {
  EXPECT_EQ(fired({smc("a", std::nullopt, 79)}), std::set<std::string>{});
  EXPECT_EQ(fired({smc("a", std::nullopt, 80)}), (std::set<std::string>{"code_usage_high warning a 80/100 used"}));
  EXPECT_EQ(fired({smc("a", std::nullopt, 94)}), (std::set<std::string>{"code_usage_high warning a 94/100 used"}));
  EXPECT_EQ(fired({smc("a", std::nullopt, 95)}), (std::set<std::string>{"code_usage_high critical a 95/100 used"}));
  auto unknown = smc("a", std::nullopt, 5, 0);
  unknown.code.limit.reset();
  EXPECT_EQ(fired({unknown}), std::set<std::string>{});
}

// A code stored active or exhausted whose expiry has come since its scope's last listing (the scope
// fails, or polls rarely) is expired now: no usage or forecast alert fires for it, and the
// exposition says so.
TEST(AlertRules, ACodeWhoseExpiryCameSinceItsListingIsExpired) {
  auto used = smc("used", 3600, 99);  // 99/100: usage critical while active
  used.code.expires_at = k_now - 10;
  used.state = model::CodeState::active;  // as listed before its expiry
  auto full = smc("full", 3600, 100);
  full.code.expires_at = k_now - 10;
  full.state = model::CodeState::exhausted;
  EXPECT_EQ(fired({used, full}), std::set<std::string>{});
  model::Snapshot st;
  st.codes.emplace("k", std::make_shared<const model::CodeList>(std::vector<model::StoredCode>{used}));
  std::string now_text;
  metrics::write_snapshot(
      st, [&](std::string_view p) { now_text.append(p); }, k_now);
  EXPECT_NE(now_text.find(R"(id="used",name="n-used",state="expired")"), std::string::npos) << now_text;
  std::string stored_text;
  metrics::write_snapshot(st, [&](std::string_view p) { stored_text.append(p); });
  EXPECT_NE(stored_text.find(R"(id="used",name="n-used",state="active")"), std::string::npos);
}

TEST(AlertRules, ACollectorsThresholdsOverrideTheGlobalOnes) {
  auto e = smc("e", 11 * 3600, 50);
  e.collector = "prod-ecs";
  e.code.product = config::Product::ecs;
  e.code.region = "cn-hangzhou";
  e.code.api_status = "enabled";
  EXPECT_EQ(fired({e}),
            (std::set<std::string>{"code_expiring warning e expires in 11h", "code_usage_high warning e 50/100 used"}));
  e.code.expires_at = k_now + 2 * 3600;
  e.code.registered = 90;
  EXPECT_EQ(fired({e}), (std::set<std::string>{"code_expiring critical e expires in 2h",
                                               "code_usage_high critical e 90/100 used"}));
}

// An organization's listing of its members runs every refresh (1h here), not every interval of
// its collector (5m): 20 minutes after a listing is not 3 missed runs.
TEST(AlertRules, AnOrganizationsListingIsJudgedByItsRefresh) {
  const auto cfg = config::parse(R"(
[[accounts]]
name = "mgmt"
credentials = "env"
[[organizations]]
name = "corp"
account = "mgmt"
refresh = "1h"
[[collectors]]
account = "corp"
product = "smc"
interval = "5m"
)",
                                 "t.toml");
  model::ScopeStatus listing;
  listing.scope = model::Scope{"corp-smc", config::Product::smc, "corp", "*", "", "corp"};
  listing.last_run_at = listing.last_success_at = k_now - 20 * 60;
  listing.last_ok = true;
  std::vector<model::AlertRecord> out;
  daemon::scope_alerts({listing}, cfg, k_now, out);
  EXPECT_TRUE(out.empty()) << out.front().summary;
  listing.last_run_at = listing.last_success_at = k_now - 3 * 3600 - 1;  // three listings missed
  daemon::scope_alerts({listing}, cfg, k_now, out);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].summary_at(k_now), "last success 3h ago");
}

// A reload that makes an interval shorter (1h to 5m) judges a scope against the new one only from
// the reload: its last success 40 minutes ago was on time under the old interval.
TEST(AlertRules, AShorterIntervalCountsFromTheReloadThatMadeIt) {
  auto cfg = make_config();
  model::ScopeStatus s;
  s.scope = model::Scope{"prod-smc", config::Product::smc, "prod", "", ""};
  s.last_run_at = s.last_success_at = k_now - 40 * 60;
  s.last_ok = true;
  std::vector<model::AlertRecord> out;
  daemon::scope_alerts({s}, cfg, k_now, out);
  EXPECT_EQ(out.size(), 1U);  // without the reload's moment: 40m is past 3 x 5m
  out.clear();
  cfg.collectors[0].interval_shortened_at = k_now - 60;
  daemon::scope_alerts({s}, cfg, k_now, out);
  EXPECT_TRUE(out.empty());
  cfg.collectors[0].interval_shortened_at = k_now - 15 * 60 - 1;  // no run since: 3 new intervals missed
  daemon::scope_alerts({s}, cfg, k_now, out);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].summary_at(k_now), "last success 40m ago");
}

TEST(AlertRules, CodesOfCollectorsNoLongerConfiguredAreIgnored) {
  auto gone = smc("a", 3600, 99);
  gone.collector = "old-smc";
  EXPECT_EQ(fired({gone}), std::set<std::string>{});
}

TEST(AlertRules, CollectorFailing) {
  auto scope = [](std::optional<UnixTime> last_success, int failures, std::optional<UnixTime> first_run) {
    model::ScopeStatus s;
    s.scope = model::Scope{"prod-smc", config::Product::smc, "prod", "", ""};
    s.last_success_at = last_success;
    s.last_run_at = k_now - 10;
    s.first_run_at = first_run;
    s.consecutive_failures = failures;
    s.last_error = "api error InternalError";
    return s;
  };
  EXPECT_EQ(fired({}, {scope(k_now - 900, 2, k_now - 86400)}), std::set<std::string>{});  // exactly 3 x 5m
  EXPECT_EQ(fired({}, {scope(k_now - 901, 2, k_now - 86400)}),
            (std::set<std::string>{
                "collector_failing warning prod-smc last success 15m ago, 2 failed run(s): api error InternalError"}));
  EXPECT_EQ(fired({}, {scope(k_now - 60, 3, k_now - 86400)}),
            (std::set<std::string>{
                "collector_failing warning prod-smc last success 1m ago, 3 failed run(s): api error InternalError"}));
  // Never succeeded: counted from the first run.
  EXPECT_EQ(fired({}, {scope(std::nullopt, 1, k_now - 60)}), std::set<std::string>{});
  EXPECT_EQ(fired({}, {scope(std::nullopt, 2, k_now - 1000)}).size(), 1U);
  auto other = scope(k_now - 100000, 5, k_now - 200000);
  other.scope.collector = "old-smc";
  EXPECT_EQ(fired({}, {other}), std::set<std::string>{});
}

TEST(AlertRules, LabelsAndIdentity) {
  auto alerts = daemon::evaluate_alerts({smc("a", 3600)}, {}, make_config(), k_now);
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].labels(), (std::vector<std::pair<std::string, std::string>>{{"rule", "code_expiring"},
                                                                                  {"severity", "critical"},
                                                                                  {"product", "smc"},
                                                                                  {"account", "prod"},
                                                                                  {"id", "a"},
                                                                                  {"name", "n-a"}}));
  auto warning = alerts[0];
  warning.severity = "warning";
  EXPECT_NE(warning.key(), alerts[0].key());  // severity is part of the identity
  auto renamed = alerts[0];
  renamed.summary = "expires in 59m";
  EXPECT_EQ(renamed.key(), alerts[0].key());  // the summary is not
}

TEST(NotifyBodies, AlertmanagerCarriesAlertnameAndAnEndsAt) {
  model::AlertRecord a;
  a.rule = "code_usage_high";
  a.severity = "warning";
  a.product = "ecs";
  a.account = "prod";
  a.region = "cn-hangzhou";
  a.code_id = "act-1";
  a.collector = "prod-ecs";
  a.name = "hosts";
  a.summary = "43/50 used";
  a.starts_at = k_now;
  db::PendingNotification firing{a, false};
  auto resolved = firing;
  resolved.alert.ends_at = k_now + 60;
  resolved.resolved = true;
  auto counting = firing;
  counting.alert.rule = "code_expiring";
  counting.alert.summary = "expires in {span}";
  counting.alert.span_at = k_now + 2 * 3600;
  auto body = nlohmann::json::parse(
      daemon::alertmanager_body({firing, resolved, counting}, "http://127.0.0.1:9796/metrics", k_now + 60));
  ASSERT_EQ(body.size(), 3U);
  EXPECT_EQ(body[0]["labels"]["alertname"], "code_usage_high");
  EXPECT_EQ(body[0]["labels"]["region"], "cn-hangzhou");
  EXPECT_FALSE(body[0]["labels"].contains("collector"));
  EXPECT_EQ(body[0]["annotations"]["summary"], "43/50 used");
  EXPECT_EQ(body[0]["startsAt"], format_rfc3339(k_now));
  // Firing: valid for four resends from when it is sent, unless sent again.
  EXPECT_EQ(body[0]["endsAt"], format_rfc3339(k_now + 60 + daemon::k_alertmanager_validity));
  EXPECT_EQ(body[1]["endsAt"], format_rfc3339(k_now + 60));
  // A counting summary reads as of the moment the body is made.
  EXPECT_EQ(body[2]["annotations"]["summary"], "expires in 1h 59m");
  EXPECT_EQ(body[2]["annotations"]["description"],
            "ecs code act-1 (hosts) in account prod, region cn-hangzhou: expires in 1h 59m");
  auto hook = nlohmann::json::parse(daemon::webhook_body(resolved, k_now + 120));
  EXPECT_EQ(hook["status"], "resolved");
  EXPECT_EQ(hook["alert"]["id"], "act-1");
  EXPECT_TRUE(hook["alert"]["order_id"].is_null());
  EXPECT_TRUE(hook["alert"]["collector"].is_null());
  EXPECT_EQ(hook["alert"]["ends_at"], format_rfc3339(k_now + 60));
  auto counted = counting;
  counted.alert.ends_at = k_now + 600;
  counted.resolved = true;
  // Resolved, it reads as it did when it resolved.
  EXPECT_EQ(nlohmann::json::parse(daemon::webhook_body(counted, k_now + 86400))["alert"]["summary"],
            "expires in 1h 50m");
}

TEST(Exposition, EscapesLabelsAndOmitsUnknownValues) {
  model::Snapshot st;
  auto code = smc("a", 3600, 5);
  code.code.name = "quote\" back\\slash\nnewline";
  code.code.limit.reset();
  st.codes.emplace("k", std::make_shared<const model::CodeList>(std::vector<model::StoredCode>{code}));
  std::string out;
  metrics::write_snapshot(st, [&](std::string_view p) { out.append(p); });
  EXPECT_NE(
      out.find(
          R"(acmon_code_info{product="smc",account="prod",id="a",name="quote\" back\\slash\nnewline",state="active",api_status="activated"} 1)"),
      std::string::npos)
      << out;
  EXPECT_EQ(out.find("acmon_code_limit{"), std::string::npos);  // unknown: absent, not 0
  EXPECT_NE(out.find("acmon_code_registered{product=\"smc\",account=\"prod\",id=\"a\"} 5\n"), std::string::npos);
  EXPECT_NE(out.find("acmon_code_expiry_timestamp_seconds{product=\"smc\",account=\"prod\",id=\"a\"} 1800003600\n"),
            std::string::npos);
  EXPECT_NE(out.find("# TYPE acmon_collector_runs_total counter\n"), std::string::npos);
}

// A byte to escape is escaped wherever it stands in a code's name or an alert's label: first, last,
// next to another one; other bytes (UTF-8, controls) pass as they are.
TEST(Exposition, EscapesABackslashQuoteOrNewlineWhereverItStands) {
  auto escaped = [](const std::string& v) {
    std::string e;
    for (const char c : v) {
      if (c == '\\' || c == '"' || c == '\n') {
        e += '\\';
      }
      e += c == '\n' ? 'n' : c;
    }
    return e;
  };
  std::vector<std::string> names;
  for (std::size_t len = 1; len <= 19; ++len) {
    for (std::size_t at = 0; at < len; ++at) {
      for (const char special : {'\\', '"', '\n'}) {
        std::string v(len, 'a' + static_cast<char>(at % 26));
        v[at] = special;
        names.push_back(v);
        if (at + 1 < len) {
          v[at + 1] = '\\';
          names.push_back(v);
        }
      }
    }
  }
  names.emplace_back(
      "\xe2\x80\x9cplain UTF-8\xe2\x80\x9d \x7f\x01 and a \xff"
      "byte");  // bytes >= 0x80 copy as they are
  model::Snapshot st;
  std::vector<model::StoredCode> codes;
  std::vector<model::AlertRecord> alerts;
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto code = smc("c" + std::to_string(i), 3600, 5);
    code.code.name = names[i];
    codes.push_back(code);
    model::AlertRecord a;
    a.rule = "code_expiring";
    a.severity = "warning";
    a.product = "smc";
    a.account = "prod";
    a.code_id = code.code.id;
    a.name = names[i];
    alerts.push_back(a);
  }
  st.codes.emplace("k", std::make_shared<const model::CodeList>(codes));
  st.alerts = alerts;
  std::string out;
  metrics::write_snapshot(st, [&](std::string_view p) { out.append(p); });
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string id = "c" + std::to_string(i);
    EXPECT_NE(out.find("id=\"" + id + "\",name=\"" + escaped(names[i]) + "\",state=\"active\""), std::string::npos)
        << "code " << i;
    EXPECT_NE(out.find("id=\"" + id + "\",name=\"" + escaped(names[i]) + "\"} 1\n"), std::string::npos)
        << "alert " << i;
  }
  // Every line is a comment or a whole sample, and no name's escape spilled into another line.
  std::size_t info = 0;
  std::size_t active = 0;
  for (std::size_t at = 0; at < out.size();) {
    const std::size_t end = out.find('\n', at);
    ASSERT_NE(end, std::string::npos);
    const std::string_view line(out.data() + at, end - at);
    info += line.starts_with("acmon_code_info{") ? 1 : 0;
    active += line.starts_with("acmon_alert_active{") ? 1 : 0;
    EXPECT_TRUE(line.starts_with("# ") || line.starts_with("acmon_") || line.starts_with("process_")) << line;
    at = end + 1;
  }
  EXPECT_EQ(info, names.size());
  EXPECT_EQ(active, names.size());
}

TEST(StatusPage, ListsTheSoonestExpiringAndMostUsedCodesAndEscapesEverything) {
  model::Snapshot snap;
  auto code = [](const std::string& id, std::int64_t expires, std::int64_t used, std::int64_t limit) {
    model::StoredCode s;
    s.code.product = config::Product::smc;
    s.code.account = "prod";
    s.code.id = id;
    s.code.name = "n-" + id;
    s.code.created_at = 1000;
    s.code.expires_at = expires;
    s.code.registered = used;
    s.code.limit = limit;
    s.collector = "prod-smc";
    return s;
  };
  std::vector<model::StoredCode> list{code("late", 900000, 1, 100), code("soon", 5000, 99, 100),
                                      code("mid", 50000, 10, 100)};
  list[2].code.name = "<img src=x onerror=alert(1)>";
  snap.codes.emplace("prod-smc||", std::make_shared<const model::CodeList>(std::move(list)));
  model::ScopeStatus st;
  st.scope = model::Scope{"prod-smc", config::Product::smc, "prod", "", ""};
  st.last_run_at = 3000;
  st.last_ok = false;
  st.last_error = "Forbidden.RAM: <you shall not pass>";
  snap.scopes.push_back(st);
  const std::string page = daemon::render_status_page({&snap, 4000, "9.9.9", true});
  const auto at = [&](const std::string& s) { return page.find(s); };
  // Expiring soonest: soon, mid, late in that order; most used: soon (99 %) first.
  const auto expiring = at("id=\"expiring\"");
  const auto used = at("id=\"used\"");
  ASSERT_NE(expiring, std::string::npos);
  ASSERT_NE(used, std::string::npos);
  EXPECT_LT(page.find("data-code=\"soon\"", expiring), page.find("data-code=\"mid\"", expiring));
  EXPECT_LT(page.find("data-code=\"mid\"", expiring), page.find("data-code=\"late\"", expiring));
  EXPECT_EQ(page.find("data-code=\"", used), page.find("data-code=\"soon\"", used));
  EXPECT_NE(at("value=\"0.990\""), std::string::npos);
  // Everything from outside is escaped.
  EXPECT_EQ(at("<img"), std::string::npos);
  EXPECT_NE(at("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(at("Forbidden.RAM: &lt;you shall not pass&gt;"), std::string::npos);
  EXPECT_NE(at("badge failing"), std::string::npos);
  EXPECT_NE(at("version 9.9.9"), std::string::npos);
  EXPECT_EQ(at("<script"), std::string::npos);
  EXPECT_EQ(daemon::html_escape("a&b<c>\"d'"), "a&amp;b&lt;c&gt;&quot;d&#39;");
}
