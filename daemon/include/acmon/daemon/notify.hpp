// Notifications: Alertmanager (API v2) and a generic JSON webhook. What each receiver has been
// told lives in the store, so a restart neither loses nor repeats a resolution.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "acmon/core/config.hpp"
#include "acmon/core/http.hpp"
#include "acmon/daemon/records_json.hpp"
#include "acmon/db/store.hpp"

namespace acmon::daemon {

// How often a firing alert is sent to Alertmanager again (well inside its resolve_timeout).
constexpr std::int64_t k_alertmanager_resend = 60;
// Resolutions older than this are not sent to a receiver that never heard of them.
constexpr std::int64_t k_resolution_horizon = 86400;

// The receiver's identity in the store: "alertmanager:URL" or "webhook:URL".
std::string target_name(const config::Notify& n);

// POST /api/v2/alerts body: labels (alertname = rule), annotations (summary and description, as
// they read at now), startsAt, endsAt for resolved alerts, generatorURL.
std::string alertmanager_body(const std::vector<db::PendingNotification>& alerts, const std::string& generator_url,
                              UnixTime now);
// The webhook body of one alert change: {"status", "alert": {...}} with the `acmon alerts --json` keys.
std::string webhook_body(const db::PendingNotification& change, UnixTime now);

// Sends what one receiver is owed, once, and marks it sent. Returns how many alerts were
// delivered, or the error (nothing is marked then). Network I/O happens outside store_mutex.
Result<int> deliver(const config::Notify& receiver, http::Transport& transport, db::Store& store,
                    std::mutex& store_mutex, UnixTime now, const std::string& generator_url);

}  // namespace acmon::daemon
