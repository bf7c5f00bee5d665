#include "acmon/daemon/records_json.hpp"

#include "acmon/core/time.hpp"

namespace acmon::daemon {

using nlohmann::ordered_json;

namespace {

ordered_json or_null(const std::string& s) {
  return s.empty() ? ordered_json(nullptr) : ordered_json(s);
}
ordered_json or_null(const std::optional<std::int64_t>& v) {
  return v ? ordered_json(*v) : ordered_json(nullptr);
}
ordered_json time_or_null(const std::optional<UnixTime>& v) {
  return v ? ordered_json(format_rfc3339(*v)) : ordered_json(nullptr);
}

// The fields the cloud gave, as SPEC.md orders them (product-specific ones null elsewhere).
ordered_json code_fields(const model::Code& c) {
  const bool ecs = c.product == config::Product::ecs;
  const bool pdb = c.product == config::Product::polardb;
  ordered_json j = ordered_json::object();
  j["product"] = config::to_string(c.product);
  j["account"] = c.account;
  j["region"] = ecs ? ordered_json(c.region) : ordered_json(nullptr);
  j["order_id"] = pdb ? ordered_json(c.order_id) : ordered_json(nullptr);
  j["id"] = c.id;
  j["name"] = c.name;
  j["description"] = c.description;
  j["limit"] = or_null(c.limit);
  j["registered"] = or_null(c.registered);
  j["deregistered"] = ecs ? or_null(c.deregistered) : ordered_json(nullptr);
  j["created_at"] = time_or_null(c.created_at);
  j["expires_at"] = time_or_null(c.expires_at);
  j["api_status"] = c.api_status ? ordered_json(*c.api_status) : ordered_json(nullptr);
  return j;
}

}  // namespace

ordered_json code_json(const model::StoredCode& s) {
  ordered_json j = code_fields(s.code);
  j["state"] = model::to_string(s.state);
  j["first_seen"] = format_rfc3339(s.first_seen);
  j["last_seen"] = s.last_seen > 0 ? ordered_json(format_rfc3339(s.last_seen)) : ordered_json(nullptr);
  return j;
}

ordered_json alert_json(const model::AlertRecord& a, UnixTime now) {
  ordered_json j;
  j["rule"] = a.rule;
  j["severity"] = a.severity;
  j["product"] = a.product;
  j["account"] = a.account;
  j["region"] = or_null(a.region);
  j["order_id"] = or_null(a.order_id);
  j["id"] = or_null(a.code_id);
  j["collector"] = a.is_code_alert() ? ordered_json(nullptr) : ordered_json(a.collector);
  j["name"] = a.is_code_alert() ? ordered_json(a.name) : ordered_json(nullptr);
  j["summary"] = a.summary_at(now);
  j["starts_at"] = format_rfc3339(a.starts_at);
  j["ends_at"] = time_or_null(a.ends_at);
  return j;
}

ordered_json history_json(const db::HistoryEntry& e) {
  return ordered_json{{"at", format_rfc3339(e.at)},
                      {"event", e.event},
                      {"detail", e.detail},
                      {"collector", e.collector},
                      {"snapshot", code_fields(e.snapshot)}};
}

}  // namespace acmon::daemon
