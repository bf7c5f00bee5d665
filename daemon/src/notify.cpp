#include "acmon/daemon/notify.hpp"

#include <nlohmann/json.hpp>

#include "acmon/core/crypto.hpp"
#include "acmon/core/text.hpp"

namespace acmon::daemon {

using nlohmann::ordered_json;

namespace {

const char* type_name(const config::Notify& n) {
  return n.type == config::Notify::Type::alertmanager ? "alertmanager" : "webhook";
}

}  // namespace

std::string receiver_key(const config::Notify& n) {
  return crypto::sha256_hex(std::string(type_name(n)) + ":" + n.url);
}

std::string target_name(const config::Notify& n) {
  return std::string(type_name(n)) + " " + url_origin(n.url) + " (receiver " + receiver_key(n).substr(0, 8) + ")";
}

namespace {

ordered_json labels_json(const model::AlertRecord& a) {
  ordered_json l = ordered_json::object();
  l["alertname"] = a.rule;
  for (const auto& [k, v] : a.labels()) {
    l[k] = v;
  }
  return l;
}

std::string description(const model::AlertRecord& a, UnixTime now) {
  if (!a.is_code_alert()) {
    return "collector " + a.collector + " (" + a.product + ", account " + a.account + "): " + a.summary_at(now);
  }
  std::string where =
      a.product + " code " + a.code_id + (a.name.empty() ? "" : " (" + a.name + ")") + " in account " + a.account;
  if (!a.region.empty()) {
    where += ", region " + a.region;
  }
  if (!a.order_id.empty()) {
    where += ", order " + a.order_id;
  }
  return where + ": " + a.summary_at(now);
}

std::string join_url(std::string base, const char* path) {
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  return base + path;
}

}  // namespace

std::string alertmanager_body(const std::vector<db::PendingNotification>& alerts, const std::string& generator_url,
                              UnixTime now) {
  ordered_json arr = ordered_json::array();
  for (const auto& p : alerts) {
    ordered_json a;
    a["labels"] = labels_json(p.alert);
    a["annotations"] = {{"summary", p.alert.summary_at(now)}, {"description", description(p.alert, now)}};
    a["startsAt"] = format_rfc3339(p.alert.starts_at);
    a["endsAt"] = format_rfc3339(p.alert.ends_at ? *p.alert.ends_at : now + k_alertmanager_validity);
    if (!generator_url.empty()) {
      a["generatorURL"] = generator_url;
    }
    arr.push_back(std::move(a));
  }
  return arr.dump();
}

std::string webhook_body(const db::PendingNotification& change, UnixTime now) {
  ordered_json body;
  body["status"] = change.resolved ? "resolved" : "firing";
  body["alert"] = alert_json(change.alert, now);
  return body.dump();
}

Result<int> deliver(const config::Notify& receiver, http::Transport& transport, db::Store& store,
                    std::mutex& store_mutex, UnixTime now, const std::string& generator_url,
                    std::chrono::steady_clock::duration turn) {
  const auto started = std::chrono::steady_clock::now();
  const std::string key = receiver_key(receiver);
  const std::string shown = target_name(receiver);
  const bool am = receiver.type == config::Notify::Type::alertmanager;
  Result<std::vector<db::PendingNotification>> pending = std::vector<db::PendingNotification>{};
  {
    std::lock_guard lock(store_mutex);
    // Alertmanager is sent firing alerts again once a resend is due (or the clock stepped back
    // past the last one); a webhook is told of a firing once.
    pending = am ? store.pending_notifications(key, now - k_alertmanager_resend + 1, now - k_resolution_horizon, now)
                 : store.pending_notifications(key, 0, now - k_resolution_horizon);
  }
  if (!pending) {
    return pending.error();
  }
  if (pending->empty()) {
    return 0;
  }
  auto post = [&](const std::string& url, std::string body) -> Result<void> {
    http::Request req;
    req.method = "POST";
    req.url = url;
    req.body = std::move(body);
    req.headers = {{"Content-Type", "application/json"}};
    req.timeout = std::chrono::milliseconds(10000);
    req.connect_timeout = std::chrono::milliseconds(3000);
    auto r = transport.send(req);
    if (!r) {
      return r.error();
    }
    if (r->status < 200 || r->status >= 300) {
      Error e = make_error(ErrorKind::http, shown + " answered HTTP " + std::to_string(r->status));
      e.http_status = r->status;
      return e;
    }
    return {};
  };
  std::vector<db::PendingNotification> sent;
  if (am) {
    if (auto r = post(join_url(receiver.url, "/api/v2/alerts"), alertmanager_body(*pending, generator_url, now)); !r) {
      return r.error();
    }
    sent = *pending;
  } else {
    for (const auto& p : *pending) {
      if (!sent.empty() && std::chrono::steady_clock::now() - started >= turn) {
        break;  // its turn is over: the rest on the next
      }
      if (auto r = post(receiver.url, webhook_body(p, now)); !r) {
        if (!sent.empty()) {
          std::lock_guard lock(store_mutex);
          (void)store.mark_notified(key, sent, now);
        }
        return r.error();
      }
      sent.push_back(p);
    }
  }
  std::lock_guard lock(store_mutex);
  if (auto r = store.mark_notified(key, sent, now); !r) {
    return r.error();
  }
  return static_cast<int>(sent.size());
}

std::vector<const config::Notify*> round_order(const std::vector<config::Notify>& receivers) {
  std::vector<const config::Notify*> alertmanagers;
  for (const auto& n : receivers) {
    if (n.type == config::Notify::Type::alertmanager) {
      alertmanagers.push_back(&n);
    }
  }
  std::vector<const config::Notify*> order = alertmanagers;
  for (const auto& n : receivers) {
    if (n.type != config::Notify::Type::alertmanager) {
      order.push_back(&n);
      order.insert(order.end(), alertmanagers.begin(), alertmanagers.end());
    }
  }
  return order;
}

}  // namespace acmon::daemon
