// acmon token create
#include "commands.hpp"

namespace acmon::cli {

int cmd_token_create(const std::string& path, const std::string& account, const std::string& name,
                     const std::string& description, int count, int ttl_days) {
  const auto cfg = load_config(path);
  const auto* acct = cfg.find_account(account);
  if (acct == nullptr) {
    throw Failure{k_exit_usage, "--account " + account + ": no such account in " + cfg.path};
  }
  // Use the account's smc collector settings (endpoint, signature, timeout) where there is one.
  api::Call call;
  call.product = "smc";
  call.action = "CreateAccessToken";
  call.version = config::api_version(config::Product::smc);
  call.endpoint = "https://smc.aliyuncs.com";
  for (const auto& c : cfg.collectors) {
    if (c.account == account && c.product == config::Product::smc) {
      if (!c.endpoint.empty()) {
        call.endpoint = c.endpoint;
      }
      call.signature = c.signature;
      call.timeout = std::chrono::milliseconds(c.timeout * 1000);
      break;
    }
  }
  if (!name.empty()) {
    call.params["Name"] = name;
  }
  if (!description.empty()) {
    call.params["Description"] = description;
  }
  call.params["Count"] = std::to_string(count);
  call.params["TimeToLiveInDays"] = std::to_string(ttl_days);
  auto provider = make_credential_provider(*acct);
  http::CurlTransport transport;
  SystemClock clock;
  api::RealSleeper sleeper;
  // Creating is not idempotent: a retried create could make two codes, so only one attempt.
  api::Client client(transport, clock, sleeper, api::RetryPolicy{1, {}, {}});
  auto r = client.call(call, *provider);
  if (!r) {
    throw Failure{k_exit_failed, "account '" + account + "': CreateAccessToken: " + r.error().describe()};
  }
  const auto id = r->value("AccessTokenId", "");
  const auto code = r->value("AccessTokenCode", "");
  if (id.empty() || code.empty()) {
    throw Failure{k_exit_failed, "account '" + account + "': CreateAccessToken answered without an id or a code"};
  }
  std::cout << "AccessTokenId:   " << id << "\nAccessTokenCode: " << code
            << "\n\nThe code is shown only this once; acmon does not store it.\n";
  return 0;
}

}  // namespace acmon::cli
