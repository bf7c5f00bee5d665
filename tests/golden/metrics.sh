#!/usr/bin/env bash
# The whole /metrics exposition of `acmon run` for a fixed data set, compared with a golden file
# (as node_exporter's end-to-end-test.sh does), and linted with `promtool check metrics`.
#   metrics.sh [-u] ACMON ACMON_SIM     -u rewrites tests/golden/metrics.prom instead of comparing
#
# What is fixed: the data (tests/fixtures/golden-sim.json), the configuration written below (one
# account; smc; ecs in two regions; polardb with one real order and one that does not exist, so one
# scope fails; interval 1h so no scope runs twice; explicit alert thresholds), and the sequence:
# `acmon sync` (exit 1 for the failing scope), then `acmon run` until /readyz says every scope ran
# once and two scrapes in a row agree.
#
# No fixed clock: acmon has no way to set its clock (no option or ACMON_* variable; main.cpp uses
# SystemClock), and the simulator checks request times against the real clock. So the data does
# not depend on today: every expiry is decades in the past (expired codes) or the future (2090 and
# later), so each code's state is the same on any day until then, no code_expiring alert can fire,
# and code_usage_high depends on counts only. What still depends on the clock or the machine is
# masked: those samples keep their names and labels, and their value is replaced by VOLATILE:
#   process_*                                          CPU, memory, descriptors, start time of the process
#   acmon_api_request_duration_seconds_bucket, _sum    request latencies (the _count stays: it is
#                                                      the number of requests)
#   acmon_collector_last_run_duration_seconds          how long the last run took
#   acmon_collector_last_success_timestamp_seconds     when the last run succeeded (now)
# and acmon_build_info's version label is written as version="VERSION", so that a release does not
# change the golden file. The samples of each family are sorted: prometheus-cpp writes the API
# metrics in an order that depends on which concurrent run first used a label set, and the order of
# samples in a family carries no meaning. Everything else (codes, states, alerts, runs, API request
# counts, help and type lines, label escaping, the order of families) must match byte for byte.
set -uo pipefail
update=0
if [ "${1:-}" = -u ]; then
  update=1
  shift
fi
ACMON=$1
SIM=$2
here=$(cd "$(dirname "$0")" && pwd)
golden=$here/metrics.prom
work=$(mktemp -d)
. "$here/../lib.sh"
acmon_pid=""
trap '[ -n "$acmon_pid" ] && kill "$acmon_pid" 2>/dev/null; [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work"' EXIT

# mask < EXPOSITION > MASKED: the volatile values above replaced, the samples of each family sorted.
mask() {
  sed -E \
    -e '/^#/b' \
    -e 's/^((process_[a-z_]+|acmon_api_request_duration_seconds_(bucket|sum)|acmon_collector_last_run_duration_seconds|acmon_collector_last_success_timestamp_seconds)(\{.*\})?) .*/\1 VOLATILE/' \
    -e 's/^(acmon_build_info\{.*version=)"[^"]*"/\1"VERSION"/' |
    awk '/^#/ { if (n) { close(sort) } n = 0; print; next }
         { if (!n) { sort = "LC_ALL=C sort" } n++; print | sort }
         END { if (n) { close(sort) } }'
}

start_sim --data "$here/../fixtures/golden-sim.json" || { finish; exit; }
mport=$(free_port)
printf 'golden-secret\n' >"$work/secret"
chmod 600 "$work/secret"
acmon_config "$work/acmon.toml" --database "$work/acmon.db" --listen "127.0.0.1:$mport" --log-level warn \
  --account golden --key-id LTAIgolden --secret-file "$work/secret" --interval 1h \
  --smc --ecs '"cn-hangzhou", "cn-beijing"' --polardb '"2233000000001", "404404"' \
  --raw $'[alerts]\nexpiry_warning = "7d"\nexpiry_critical = "1d"\nusage_warning = 0.80\nusage_critical = 0.95'

out=$("$ACMON" sync --config "$work/acmon.toml" 2>&1)
status=$?
check "acmon sync: every scope but the missing order succeeds (exit $status)" \
  "[ $status = 1 ] && grep -q 'golden-smc: ok, 5 codes' <<<\"\$out\" && grep -q 'order 404404): FAILED' <<<\"\$out\""

"$ACMON" run --config "$work/acmon.toml" >"$work/acmon.log" 2>&1 &
acmon_pid=$!
M="http://127.0.0.1:$mport"
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$M/readyz")" = 200 ]; }
check "acmon run becomes ready (every scope ran once)" "wait_for 60 ready"
# The exported state settles after the runs finish: wait until two scrapes in a row agree.
curl -s "$M/metrics" | mask >"$work/prev.prom"
settled() {
  curl -s "$M/metrics" >"$work/raw.prom"
  mask <"$work/raw.prom" >"$work/metrics.prom"
  cmp -s "$work/prev.prom" "$work/metrics.prom" && return 0
  cp "$work/metrics.prom" "$work/prev.prom"
  sleep 0.2
  return 1
}
check "two scrapes in a row agree" "wait_for 20 settled"

if out=$(promtool check metrics <"$work/raw.prom" 2>&1); then ok "promtool check metrics"; else bad "promtool check metrics: $out"; fi

if [ "$update" = 1 ] && [ "$failed" -gt 0 ]; then
  bad "not rewriting $golden after a failure"
elif [ "$update" = 1 ]; then
  cp "$work/metrics.prom" "$golden"
  ok "wrote $golden"
elif diff -u "$golden" "$work/metrics.prom" >"$work/diff"; then
  ok "/metrics matches tests/golden/metrics.prom"
else
  bad "/metrics differs from tests/golden/metrics.prom (tests/golden/metrics.sh -u ACMON ACMON_SIM rewrites it):"
  head -60 "$work/diff"
fi
finish
