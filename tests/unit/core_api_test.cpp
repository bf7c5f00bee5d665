// The API client's classification and retry policy, over a transport that replays canned answers.
#include <gtest/gtest.h>

#include <deque>

#include "acmon/core/api.hpp"
#include "acmon/core/backoff.hpp"
#include "acmon/core/pace.hpp"
#include "doubles.hpp"

using namespace acmon;

namespace {

class ReplayTransport final : public http::Transport {
 public:
  std::deque<Result<http::Response>> answers;
  std::vector<http::Request> seen;
  Result<http::Response> send(const http::Request& r) override {
    seen.push_back(r);
    auto a = answers.front();
    answers.pop_front();
    return a;
  }
};

http::Response answer(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

api::Call list_call() {
  api::Call c;
  c.product = "smc";
  c.endpoint = "https://smc.aliyuncs.com";
  c.action = "ListAccessTokens";
  c.version = "2019-06-01";
  c.params = {{"PageNumber", "1"}, {"PageSize", "50"}};
  return c;
}

struct Counting final : api::Observer {
  std::vector<std::string> codes;
  int retries = 0;
  void on_attempt(const std::string&, const std::string&, const std::string& code, double) override {
    codes.push_back(code);
  }
  void on_retry(const std::string&, const std::string&) override { ++retries; }
};

}  // namespace

TEST(Interpret, ErrorBodyBecomesTypedApiError) {
  auto r = api::interpret(answer(400, R"({"RequestId":"RID-1","Code":"InvalidParam.PageSize","Message":"bad"})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::api);
  EXPECT_EQ(r.error().code, "InvalidParam.PageSize");
  EXPECT_EQ(r.error().message, "bad");
  EXPECT_EQ(r.error().request_id, "RID-1");
  EXPECT_EQ(r.error().http_status, 400);
  EXPECT_EQ(r.error().describe(), "api error InvalidParam.PageSize (HTTP 400, RequestId RID-1): bad");
}

TEST(Interpret, NonJsonBodies) {
  auto a = api::interpret(answer(502, "<html>bad gateway</html>"));
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().kind, ErrorKind::http);
  auto b = api::interpret(answer(200, "{\"RequestId\": \"x\", \"AccessTokens\": [ {"));
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().kind, ErrorKind::parse);
  auto c = api::interpret(answer(200, "[1,2]"));
  ASSERT_FALSE(c);
  auto ok = api::interpret(answer(200, R"({"RequestId":"x","TotalCount":"0"})"));
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)["TotalCount"], "0");
}

TEST(Interpret, ServerStringToSignIsRedacted) {
  auto r = api::interpret(answer(
      400,
      R"({"RequestId":"R","Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation. server string to sign is:GET&%2F&SecurityToken%3Dsecret-token"})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.find("secret-token"), std::string::npos);
  EXPECT_NE(r.error().message.find("redacted"), std::string::npos);
}

TEST(Interpret, AThrottlingCodeUnderASuccessStatusIsAnError) {
  // RequestId and all, as a gateway may send it: still throttling, never a result.
  auto r = api::interpret(answer(200, R"({"RequestId":"RID-7","Code":"Throttling.User","Message":"slow down"})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::api);
  EXPECT_EQ(r.error().code, "Throttling.User");
  EXPECT_EQ(r.error().request_id, "RID-7");
  EXPECT_EQ(r.error().http_status, 200);
  EXPECT_TRUE(api::is_retryable(r.error()));
  // So are the other transient codes: retried, never a page without its list.
  for (const char* code : {"ServiceUnavailable", "InternalError"}) {
    auto e = api::interpret(answer(200, std::string(R"({"RequestId":"RID-8","Code":")") + code + R"("})"));
    ASSERT_FALSE(e) << code;
    EXPECT_EQ(e.error().code, code);
    EXPECT_TRUE(api::is_retryable(e.error())) << code;
  }
  // A result that carries a Code naming success stays a result.
  for (const char* code : {"200", "Success", "OK"}) {
    auto ok =
        api::interpret(answer(200, std::string(R"({"RequestId":"x","Code":")") + code + R"(","AccessTokens":[]})"));
    EXPECT_TRUE(ok) << code << ": " << ok.error().describe();
  }
}

TEST(Retryable, ThrottlingServerErrorsAndTransportOnly) {
  auto api_err = [](int status, const char* code) {
    Error e;
    e.kind = ErrorKind::api;
    e.http_status = status;
    e.code = code;
    return e;
  };
  EXPECT_TRUE(api::is_retryable(api_err(400, "Throttling.User")));
  EXPECT_TRUE(api::is_retryable(api_err(503, "Throttling")));
  EXPECT_TRUE(api::is_retryable(api_err(400, "Throttling.Api")));
  EXPECT_TRUE(api::is_retryable(api_err(500, "InternalError")));
  EXPECT_TRUE(api::is_retryable(make_error(ErrorKind::network, "reset")));
  EXPECT_TRUE(api::is_retryable(make_error(ErrorKind::timeout, "slow")));
  EXPECT_FALSE(api::is_retryable(api_err(400, "InvalidParam.PageSize")));
  EXPECT_FALSE(api::is_retryable(api_err(400, "SignatureDoesNotMatch")));
  EXPECT_FALSE(api::is_retryable(api_err(403, "Operation.Forbidden")));
  EXPECT_FALSE(api::is_retryable(api_err(404, "InvalidAccessKeyId.NotFound")));
  EXPECT_FALSE(api::is_retryable(make_error(ErrorKind::parse, "body over the cap")));
  EXPECT_TRUE(api::is_retryable(api_err(400, "SignatureNonceUsed")));
  EXPECT_TRUE(api::is_retryable(api_err(200, "ServiceUnavailable")));
  EXPECT_TRUE(api::is_retryable(api_err(200, "InternalError")));
  EXPECT_FALSE(api::is_retryable(api_err(200, "InvalidParam.PageSize")));
  Error cut = make_error(ErrorKind::parse, "not JSON");
  cut.http_status = 200;
  EXPECT_TRUE(api::is_retryable(cut));
}

TEST(Client, RetriesWithGrowingCappedJitteredBackoffAndResignsEachAttempt) {
  ReplayTransport t;
  t.answers.emplace_back(answer(400, R"({"RequestId":"1","Code":"Throttling.User","Message":"slow down"})"));
  t.answers.emplace_back(answer(503, R"({"RequestId":"2","Code":"ServiceUnavailable","Message":"x"})"));
  t.answers.emplace_back(make_error(ErrorKind::network, "connection reset"));
  t.answers.emplace_back(answer(200, R"({"RequestId":"4","AccessTokens":[]})"));
  acmon::testing::RecordingSleeper s;
  ManualClock clock(1700000000);
  Counting obs;
  api::Client client(t, clock, s, api::RetryPolicy{5, std::chrono::milliseconds(100), std::chrono::milliseconds(300)},
                     &obs);
  acmon::testing::FixedCredentials p{"id", "top-secret-value"};
  auto r = client.call(list_call(), p);
  ASSERT_TRUE(r) << r.error().describe();
  ASSERT_EQ(s.delays.size(), 3U);
  EXPECT_GE(s.delays[0].count(), 50);
  EXPECT_LE(s.delays[0].count(), 100);
  EXPECT_GE(s.delays[1].count(), 100);
  EXPECT_LE(s.delays[1].count(), 200);
  EXPECT_GE(s.delays[2].count(), 150);  // capped at 300
  EXPECT_LE(s.delays[2].count(), 300);
  ASSERT_EQ(t.seen.size(), 4U);
  std::set<std::string> nonces;
  for (const auto& req : t.seen) {
    for (const auto& [k, v] : req.headers) {
      if (k == "x-acs-signature-nonce") {
        nonces.insert(v);
      }
      EXPECT_EQ(v.find("top-secret-value"), std::string::npos);
    }
  }
  EXPECT_EQ(nonces.size(), 4U);
  EXPECT_EQ(obs.codes, (std::vector<std::string>{"Throttling.User", "ServiceUnavailable", "network", "200"}));
  EXPECT_EQ(obs.retries, 3);
}

TEST(Client, RetriesATransientErrorAnsweredUnderASuccessStatus) {
  ReplayTransport t;
  t.answers.emplace_back(answer(200, R"({"RequestId":"1","Code":"ServiceUnavailable","Message":"busy"})"));
  t.answers.emplace_back(answer(200, R"({"RequestId":"2","AccessTokens":[]})"));
  acmon::testing::RecordingSleeper s;
  ManualClock clock(1700000000);
  api::Client client(t, clock, s);
  acmon::testing::FixedCredentials p{"id", "top-secret-value"};
  auto r = client.call(list_call(), p);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(t.seen.size(), 2U);
  EXPECT_EQ(s.delays.size(), 1U);
}

TEST(Client, DoesNotRetryOtherClientErrors) {
  ReplayTransport t;
  t.answers.emplace_back(answer(400, R"({"RequestId":"R9","Code":"InvalidParam.PageSize","Message":"no"})"));
  acmon::testing::RecordingSleeper s;
  ManualClock clock(1700000000);
  api::Client client(t, clock, s);
  acmon::testing::FixedCredentials p{"id", "top-secret-value"};
  auto r = client.call(list_call(), p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "InvalidParam.PageSize");
  EXPECT_EQ(r.error().request_id, "R9");
  EXPECT_TRUE(s.delays.empty());
  EXPECT_EQ(t.seen.size(), 1U);
}

TEST(Client, GivesUpAfterMaxAttempts) {
  ReplayTransport t;
  for (int i = 0; i < 3; ++i) {
    t.answers.emplace_back(answer(400, R"({"RequestId":"R","Code":"Throttling.User","Message":"no"})"));
  }
  acmon::testing::RecordingSleeper s;
  ManualClock clock(1700000000);
  api::Client client(t, clock, s, api::RetryPolicy{3, std::chrono::milliseconds(10), std::chrono::milliseconds(10)});
  acmon::testing::FixedCredentials p{"id", "top-secret-value"};
  auto r = client.call(list_call(), p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "Throttling.User");
  EXPECT_NE(r.error().message.find("gave up after 3 attempts"), std::string::npos);
  EXPECT_EQ(s.delays.size(), 2U);
}

TEST(Client, AThrottlingAnswerUnderStatus200IsRetriedAndSlowsThePacer) {
  ReplayTransport t;
  t.answers.emplace_back(answer(200, R"({"RequestId":"R1","Code":"Throttling.User","Message":"slow down"})"));
  t.answers.emplace_back(answer(200, R"({"RequestId":"R2","AccessTokens":[]})"));
  acmon::testing::RecordingSleeper s;
  ManualClock clock(1700000000);
  Counting obs;
  const auto steady = std::chrono::steady_clock::now();
  api::Pacer pacer([steady] { return steady; });
  api::Client client(t, clock, s, api::RetryPolicy{4, std::chrono::milliseconds(100), std::chrono::milliseconds(100)},
                     &obs);
  acmon::testing::FixedCredentials p{"id", "secret"};
  api::Call c = list_call();
  c.pacer = &pacer;
  c.rate = 100;
  c.pace_key = api::pace_key("a", c.action, "");
  auto r = client.call(c, p);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE(r->contains("AccessTokens"));
  EXPECT_EQ(obs.codes, (std::vector<std::string>{"Throttling.User", "200"}));
  EXPECT_EQ(obs.retries, 1);
  // The backoff, then the second the pacer holds a throttled key (its clock stands still here).
  ASSERT_EQ(s.delays.size(), 2U);
  EXPECT_LE(s.delays[0].count(), 100);
  EXPECT_EQ(s.delays[1].count(), 1000);
}

TEST(Client, BuildV1PutsASignedQueryOnAGet) {
  ReplayTransport t;
  acmon::testing::RecordingSleeper s;
  ManualClock clock(0);
  api::Client client(t, clock, s);
  auto call = list_call();
  call.signature = config::SignatureVersion::v1;
  const auto req = client.build(call, Credentials{"id", "secret", "tok", 0}, 1456231584, "nonce-1");
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.url.rfind("https://smc.aliyuncs.com/?AccessKeyId=id&Action=ListAccessTokens&Format=JSON&", 0), 0U);
  EXPECT_NE(req.url.find("&SecurityToken=tok&"), std::string::npos);
  EXPECT_NE(req.url.find("&Timestamp=2016-02-23T12%3A46%3A24Z&"), std::string::npos);
  EXPECT_NE(req.url.find("&Signature="), std::string::npos);
  EXPECT_EQ(req.url.find("secret"), std::string::npos);
}

TEST(Client, BuildV3SignsHostWithPortAndKeepsParamsInTheQuery) {
  ReplayTransport t;
  acmon::testing::RecordingSleeper s;
  ManualClock clock(0);
  api::Client client(t, clock, s);
  auto call = list_call();
  call.endpoint = "http://127.0.0.1:8080/";
  const auto req = client.build(call, Credentials{"id", "secret", "", 0}, 1456231584, "n");
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "http://127.0.0.1:8080/?PageNumber=1&PageSize=50");
  std::string authz;
  for (const auto& [k, v] : req.headers) {
    if (k == "Authorization") {
      authz = v;
    }
  }
  // Recompute independently of v3_sign's header assembly: host with its port is what was signed.
  std::map<std::string, std::string> h{
      {"host", "127.0.0.1:8080"},
      {"x-acs-action", "ListAccessTokens"},
      {"x-acs-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"x-acs-date", "2016-02-23T12:46:24Z"},
      {"x-acs-signature-nonce", "n"},
      {"x-acs-version", "2019-06-01"}};
  const auto canonical = signing::v3_canonical_request(
      "POST", "/", "PageNumber=1&PageSize=50", h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_NE(authz.find("Signature=" + signing::v3_signature("secret", canonical)), std::string::npos);
}

TEST(Backoff, DoublesFromTheBaseUpToTheCapWithJitterInTheUpperHalf) {
  using std::chrono::milliseconds;
  EXPECT_EQ(backoff_ceiling(1, milliseconds(250), milliseconds(8000)), milliseconds(250));
  EXPECT_EQ(backoff_ceiling(3, milliseconds(250), milliseconds(8000)), milliseconds(1000));
  EXPECT_EQ(backoff_ceiling(6, milliseconds(250), milliseconds(8000)), milliseconds(8000));
  EXPECT_EQ(backoff_ceiling(1000, milliseconds(250), milliseconds(8000)), milliseconds(8000));
  EXPECT_EQ(backoff_ceiling(0, milliseconds(250), milliseconds(8000)), milliseconds(250));
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100; ++i) {
    const auto d = backoff(2, milliseconds(1000), milliseconds(300000), rng);
    EXPECT_GE(d, milliseconds(1000));
    EXPECT_LE(d, milliseconds(2000));
  }
}
