// Notifications: Alertmanager (API v2) and a generic JSON webhook. What each receiver has been
// told lives in the store, so a restart neither loses nor repeats a resolution.
#pragma once

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "acmon/core/config.hpp"
#include "acmon/core/http.hpp"
#include "acmon/daemon/records_json.hpp"
#include "acmon/db/store.hpp"

namespace acmon::daemon {

// How often a firing alert is sent to Alertmanager again.
constexpr std::int64_t k_alertmanager_resend = 60;
// A firing alert is sent with endsAt = now + this. Alertmanager resolves an alert once its endsAt
// has passed; without one it takes now + its resolve_timeout (5m by default), which acmon does not
// know. Four resends, as Prometheus does (4 x its resend delay): three in a row may be lost before
// a live alert resolves, and one acmon no longer sends (acmon stopped) resolves 4 minutes on.
constexpr std::int64_t k_alertmanager_validity = 4 * k_alertmanager_resend;
// Resolutions older than this are not sent to a receiver that never heard of them.
constexpr std::int64_t k_resolution_horizon = 86400;

// What the store knows a receiver by (the notifications table's target): the SHA-256, in hex, of
// "alertmanager:URL" or "webhook:URL". Not the URL itself, which may carry the receiver's secret (a
// token in its query or path, a password before its host). Schema 6 stored "TYPE:URL" there; the
// migration to schema 7 hashes it the same way, so what each receiver was told survives it.
std::string receiver_key(const config::Notify& n);
// The receiver as logs, `acmon sync` and error messages show it: its type, the URL's scheme, host
// and port (never its userinfo, path or query), and the first 8 hex digits of its key, which tell
// two receivers on one host apart and find its rows in the database:
// "webhook https://oapi.dingtalk.com (receiver 3f0c9a12)".
std::string target_name(const config::Notify& n);

// POST /api/v2/alerts body: labels (alertname = rule), annotations (summary and description, as
// they read at now), startsAt, endsAt (when it resolved, or for a firing alert now +
// k_alertmanager_validity), generatorURL.
std::string alertmanager_body(const std::vector<db::PendingNotification>& alerts, const std::string& generator_url,
                              UnixTime now);
// The webhook body of one alert change: {"status", "alert": {...}} with the `acmon alerts --json` keys.
std::string webhook_body(const db::PendingNotification& change, UnixTime now);

// A webhook is told of each change in a request of its own. One slow to answer (up to the 10 s
// timeout a request) with many changes owed would hold the notifier for as long as they take, and
// Alertmanager's resends with it, until Alertmanager resolved live alerts at their endsAt. So a
// delivery to a webhook starts no new request once it has run this long: it marks what it sent,
// and the notifier comes back for the rest after the other receivers had their turn.
constexpr std::chrono::seconds k_webhook_turn{15};

// The receivers in the order one notifier round serves them: every Alertmanager receiver, then
// each webhook followed by every Alertmanager receiver again. A round with many slow webhooks lasts
// up to a turn each; Alertmanager is served between them (its delivery sends nothing until a resend
// is due or an alert changed), so no number of webhooks holds its resends back for longer than one
// turn and the request running when it ends (about 25 s), and its live alerts never reach their
// endsAt.
std::vector<const config::Notify*> round_order(const std::vector<config::Notify>& receivers);

// Sends what one receiver is owed and marks it sent: Alertmanager all in one request, a webhook
// change by change for up to `turn` (k_webhook_turn above; the changes not reached are left owed).
// Returns how many alerts were delivered, or the error of the request that failed (what a webhook
// was sent before it is marked; nothing else). Network I/O happens outside store_mutex.
Result<int> deliver(const config::Notify& receiver, http::Transport& transport, db::Store& store,
                    std::mutex& store_mutex, UnixTime now, const std::string& generator_url,
                    std::chrono::steady_clock::duration turn = k_webhook_turn);

}  // namespace acmon::daemon
