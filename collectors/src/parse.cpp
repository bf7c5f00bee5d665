// API items to unified records, with every quirk of API.md.
#include <algorithm>
#include <charconv>

#include "acmon/collectors/collector.hpp"
#include "acmon/core/json.hpp"
#include "acmon/core/text.hpp"

namespace acmon::collectors {

using config::Product;
using model::Code;
using model::Scope;
using nlohmann::json;

namespace {

Error field_error(const char* field, const std::string& what) {
  return make_error(ErrorKind::parse, std::string("field ") + field + ": " + cap_text(what));
}

// How a wrong value is named in a message: by its type, and a string by a short prefix. Never
// the value serialised: it may be huge, or nested deeply enough to exhaust the stack.
std::string describe_value(const json& v) {
  if (v.is_string()) {
    return "'" + cap_text(v.get_ref<const std::string&>(), 40) + "'";
  }
  return json_type_name(v);
}

// The documented ranges (API.md, the seeds). A value outside its range is an error naming the field:
// the run fails and the last good listing stays, rather than a wrong number being stored.
struct Range {
  std::int64_t min;
  std::int64_t max;
};
constexpr std::int64_t k_max_exact = std::int64_t{1} << 53;  // beyond this, JSON numbers are not exact
constexpr Range k_count{0, k_max_exact};
constexpr Range k_smc_count{0, 1000};
constexpr Range k_smc_ttl_days{1, 90};
constexpr Range k_ecs_ttl_hours{1, 87600};  // documented default 4h, no stated maximum: up to 10 years
constexpr std::size_t k_max_id = 256;
constexpr std::size_t k_max_text = 4096;

// Absent or null is nullopt; a whole number (or a numeric string) in range is the value; anything
// else an error.
Result<std::optional<std::int64_t>> get_int(const json& item, const char* field, Range range) {
  auto it = item.find(field);
  if (it == item.end() || it->is_null()) {
    return std::optional<std::int64_t>();
  }
  std::optional<std::int64_t> v;
  bool too_large = false;
  if (it->is_number_unsigned()) {
    const auto u = it->get<std::uint64_t>();
    too_large = u > static_cast<std::uint64_t>(range.max);
    if (!too_large) {
      v = static_cast<std::int64_t>(u);
    }
  } else if (it->is_number_integer()) {
    v = it->get<std::int64_t>();
  } else if (it->is_string()) {
    const std::string_view s = trim(it->get_ref<const std::string&>());
    if (s.empty()) {
      return std::optional<std::int64_t>();
    }
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && p == s.data() + s.size()) {
      v = n;
    }
    too_large = ec == std::errc::result_out_of_range;
  }
  if (too_large || (v && (*v < range.min || *v > range.max))) {
    return field_error(field, describe_value(*it) + " is outside the documented range " + std::to_string(range.min) +
                                  " to " + std::to_string(range.max));
  }
  if (!v) {
    return field_error(field, "expected an integer, found " + describe_value(*it));
  }
  return v;
}

// start + n * unit, when the sum is a time acmon can store and print (years 1970 to 9999).
Result<std::optional<UnixTime>> expiry(std::optional<UnixTime> start, std::optional<std::int64_t> n, std::int64_t unit,
                                       const char* field) {
  if (!start || !n) {
    return std::optional<UnixTime>();
  }
  std::int64_t span = 0;
  UnixTime end = 0;
  if (__builtin_mul_overflow(*n, unit, &span) || __builtin_add_overflow(*start, span, &end) || end < 0 ||
      end > k_max_rfc3339) {
    return field_error(field, "the expiry it gives falls outside the years 1970 to 9999");
  }
  return std::optional<UnixTime>(end);
}

Result<std::optional<bool>> get_bool(const json& item, const char* field) {
  auto it = item.find(field);
  if (it == item.end() || it->is_null()) {
    return std::optional<bool>();
  }
  if (it->is_boolean()) {
    return std::optional<bool>(it->get<bool>());
  }
  if (it->is_string()) {
    const std::string s(trim(it->get<std::string>()));
    if (s == "true" || s == "True") {
      return std::optional<bool>(true);
    }
    if (s == "false" || s == "False") {
      return std::optional<bool>(false);
    }
  }
  return field_error(field, "expected a boolean, found " + describe_value(*it));
}

Result<std::string> get_string(const json& item, const char* field) {
  auto it = item.find(field);
  if (it == item.end() || it->is_null()) {
    return std::string();
  }
  if (it->is_string()) {
    const auto& text = it->get_ref<const std::string&>();
    // Names, descriptions and statuses are stored, exported as labels and printed: a bounded size.
    if (text.size() > k_max_text) {
      return field_error(field,
                         std::to_string(text.size()) + " bytes, over the limit of " + std::to_string(k_max_text));
    }
    return std::string(trim(text));
  }
  if (it->is_number()) {
    return it->dump();
  }
  return field_error(field, "expected a string, found " + describe_value(*it));
}

Result<std::string> get_id(const json& item, const char* field) {
  auto s = get_string(item, field);
  if (!s) {
    return s.error();
  }
  if (s->empty()) {
    return field_error(field, "missing: an item without an id cannot be tracked");
  }
  // Ids are opaque, but they key the store, label series and appear in messages: a bounded line.
  if (s->size() > k_max_id ||
      std::any_of(s->begin(), s->end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return field_error(field, "'" + cap_text(*s, 40) + "' is not an id (at most " + std::to_string(k_max_id) +
                                  " bytes, no control characters)");
  }
  return s;
}

// A time field: RFC 3339, or with zoneless_offset a zone-less "2024-10-16 16:46:20" read at that
// offset (an RFC 3339 value is accepted there too). Absent or empty is nullopt.
Result<std::optional<UnixTime>> get_time(const json& item, const char* field,
                                         std::optional<int> zoneless_offset = std::nullopt) {
  auto s = get_string(item, field);
  if (!s) {
    return s.error();
  }
  if (s->empty()) {
    return std::optional<UnixTime>();
  }
  std::optional<UnixTime> t;
  if (zoneless_offset) {
    t = parse_zoneless(*s, *zoneless_offset);
  }
  if (!t) {
    t = parse_rfc3339(*s);
  }
  if (!t) {
    return field_error(field, "'" + cap_text(*s, 40) + "' is not a time of the form " +
                                  (zoneless_offset ? "2024-10-16 16:46:20" : "2022-09-09T02:35:44Z"));
  }
  return std::optional<UnixTime>(*t);
}

// Declares var from a Result-returning expr, returning its error. (var is a declarator: no parentheses.)
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ACMON_TRY(var, expr) \
  auto var = (expr);         \
  if (!var) {                \
    return var.error();      \
  }
// NOLINTEND(bugprone-macro-parentheses)

}  // namespace

Result<Code> parse_smc(const json& item, const std::string& account) {
  if (!item.is_object()) {
    return make_error(ErrorKind::parse, "an AccessToken is not a JSON object");
  }
  Code c;
  c.product = Product::smc;
  c.account = account;
  ACMON_TRY(id, get_id(item, "AccessTokenId"));
  ACMON_TRY(name, get_string(item, "Name"));
  ACMON_TRY(desc, get_string(item, "Description"));
  ACMON_TRY(count, get_int(item, "Count", k_smc_count));
  ACMON_TRY(used, get_int(item, "RegisteredCount", k_count));
  ACMON_TRY(created, get_time(item, "CreationTime"));
  ACMON_TRY(ttl, get_int(item, "TimeToLiveInDays", k_smc_ttl_days));
  ACMON_TRY(expires, expiry(*created, *ttl, 86400, "TimeToLiveInDays"));
  ACMON_TRY(status, get_string(item, "Status"));
  c.id = *id;
  c.name = *name;
  c.description = *desc;
  c.limit = *count;
  c.registered = *used;
  c.created_at = *created;
  c.expires_at = *expires;
  if (!status->empty()) {
    c.api_status = *status;
  }
  return c;
}

Result<Code> parse_ecs(const json& item, const std::string& account, const std::string& region) {
  if (!item.is_object()) {
    return make_error(ErrorKind::parse, "an Activation is not a JSON object");
  }
  Code c;
  c.product = Product::ecs;
  c.account = account;
  c.region = region;
  ACMON_TRY(id, get_id(item, "ActivationId"));
  ACMON_TRY(name, get_string(item, "InstanceName"));
  ACMON_TRY(desc, get_string(item, "Description"));
  ACMON_TRY(count, get_int(item, "InstanceCount", k_count));
  ACMON_TRY(used, get_int(item, "RegisteredCount", k_count));
  ACMON_TRY(gone, get_int(item, "DeregisteredCount", k_count));
  ACMON_TRY(created, get_time(item, "CreationTime"));
  ACMON_TRY(ttl, get_int(item, "TimeToLiveInHours", k_ecs_ttl_hours));
  ACMON_TRY(expires, expiry(*created, *ttl, 3600, "TimeToLiveInHours"));
  ACMON_TRY(disabled, get_bool(item, "Disabled"));
  c.id = *id;
  c.name = *name;
  c.description = *desc;
  c.limit = *count;
  c.registered = *used;
  c.deregistered = *gone;
  c.created_at = *created;
  c.expires_at = *expires;
  c.api_status = disabled->value_or(false) ? "disabled" : "enabled";
  return c;
}

Result<Code> parse_polardb(const json& item, const std::string& account, const std::string& order_id, int utc_offset) {
  if (!item.is_object()) {
    return make_error(ErrorKind::parse, "an activation code item is not a JSON object");
  }
  Code c;
  c.product = Product::polardb;
  c.account = account;
  c.order_id = order_id;
  ACMON_TRY(id, get_id(item, "Id"));
  ACMON_TRY(name, get_string(item, "Name"));
  ACMON_TRY(desc, get_string(item, "Description"));
  ACMON_TRY(created, get_time(item, "GmtCreated", utc_offset));
  ACMON_TRY(expires, get_time(item, "ExpireAt", utc_offset));
  c.id = *id;
  c.name = *name;
  c.description = *desc;
  c.created_at = *created;
  c.expires_at = *expires;
  return c;
}

}  // namespace acmon::collectors
