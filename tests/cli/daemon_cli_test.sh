#!/usr/bin/env bash
# `acmon run` as a process: readiness, promtool-clean /metrics, SIGHUP reloads (good and bad),
# SIGKILL and restart (same alerts, metrics before the first poll), SIGTERM within seconds.
#   daemon_cli_test.sh ACMON ACMON_SIM
set -uo pipefail
ACMON=$1
SIM=$2
work=$(mktemp -d)
. "$(dirname "$0")/../lib.sh"
acmon_pid=""
trap '[ -n "$acmon_pid" ] && kill -9 "$acmon_pid" 2>/dev/null; [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work"' EXIT
mport=$(free_port)
M="http://127.0.0.1:$mport"

write_config() {  # write_config EXTRA_COLLECTOR(0/1): smc, and with 1 an ecs collector too
  local ecs=()
  [ "$1" = 1 ] && ecs=(--ecs '"cn-hangzhou"')
  acmon_config "$work/acmon.toml" --database "$work/acmon.db" --listen "127.0.0.1:$mport" --log-level info \
    --key-id LTAIrun --secret-file "$work/secret" --interval 10s --smc "${ecs[@]}"
}
start_acmon() {
  "$ACMON" run --config "$work/acmon.toml" >>"$work/acmon.log" 2>&1 &
  acmon_pid=$!
  for _ in $(seq 100); do curl -sf "$M/healthz" >/dev/null && return 0; sleep 0.05; done
  return 1
}
wait_ready() { for _ in $(seq 200); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$M/readyz")" = 200 ] && return 0; sleep 0.05; done; return 1; }

printf 'run-secret\n' >"$work/secret"
chmod 600 "$work/secret"
start_sim --generate '{"account":"LTAIrun","secret":"run-secret","smc":300,"ecs":{"regions":["cn-hangzhou"],"per_region":80},"seed":7}'
# The first listing is slow, so that /readyz can be seen answering 503 before it.
curl -s -X POST "http://127.0.0.1:$port/_sim/faults" -d '[{"kind":"delay","delay_ms":1500,"times":1}]' >/dev/null
write_config 1

check "acmon run starts and serves /healthz" "start_acmon"
code=$(curl -s -o /dev/null -w '%{http_code}' "$M/readyz")
check "/readyz is 503 before the first runs ($code)" "[ '$code' = 503 ]"
check "/readyz becomes 200 after every scope ran once" "wait_ready"
curl -s "$M/metrics" >"$work/metrics.txt"
if out=$(promtool check metrics <"$work/metrics.txt" 2>&1); then ok "promtool check metrics accepts /metrics"; else bad "promtool check metrics: $out"; fi
check "/metrics has the code series" "grep -q '^acmon_code_info{product=\"smc\"' '$work/metrics.txt'"
check "/metrics has the process series" "grep -q '^process_resident_memory_bytes ' '$work/metrics.txt' && grep -q '^process_open_fds ' '$work/metrics.txt'"
check "/metrics has acmon_build_info" "grep -q '^acmon_build_info{version=' '$work/metrics.txt'"
check "/metrics counts API requests" "grep -q '^acmon_api_requests_total{.*action=\"ListAccessTokens\".*code=\"200\"' '$work/metrics.txt'"
n=$(grep -c '^acmon_code_info{' "$work/metrics.txt")
check "380 codes exported ($n)" "[ '$n' = 380 ]"
keys=$("$ACMON" alerts --json --config "$work/acmon.toml" | json_eval 'console.log(d.length ? Object.keys(d[0]).join(",") : "none")')
check "acmon alerts --json keys ($keys)" "[ '$keys' = 'rule,severity,product,account,region,order_id,id,collector,name,summary,starts_at,ends_at' ]"
active_metric=$(grep -c '^acmon_alert_active{' "$work/metrics.txt")
active_cli=$("$ACMON" alerts --json --config "$work/acmon.toml" | json_eval 'console.log(d.length)')
check "acmon_alert_active and acmon alerts agree ($active_metric = $active_cli, > 0)" "[ '$active_metric' = '$active_cli' ] && [ '$active_cli' -gt 0 ]"

# ---- one daemon per database; the read-only commands work beside it; owner-only files --------
mport2=$(free_port)
sed "s/127.0.0.1:$mport/127.0.0.1:$mport2/" "$work/acmon.toml" >"$work/second.toml"
out=$(timeout -k 2 10 "$ACMON" run --config "$work/second.toml" 2>&1)
status=$?
check "a second acmon run on the database in use exits 1 ($status)" "[ $status = 1 ]"
check "... naming the database and the daemon that holds it ($out)" "grep -q 'database $work/acmon.db is in use by another acmon run (pid $acmon_pid)' <<<\"\$out\""
check "... and the first daemon keeps serving" "kill -0 $acmon_pid && curl -sf '$M/healthz' >/dev/null"
check "acmon codes reads the database while the daemon runs" "\"$ACMON\" codes --config '$work/acmon.toml' | grep -q '380 code(s)'"
check "acmon alerts reads it too" "\"$ACMON\" alerts --config '$work/acmon.toml' | grep -q 'alert(s)'"
some_id=$(sqlite3 "$work/acmon.db" "SELECT code_id FROM codes LIMIT 1")
check "acmon history reads it too" "\"$ACMON\" history '$some_id' --config '$work/acmon.toml' | grep -q created"
modes=$(stat -c '%a' "$work/acmon.db" "$work/acmon.db-wal" "$work/acmon.db-shm" "$work/acmon.db.lock" | tr '\n' ' ')
check "the database, its -wal and -shm files and its lock file are 0600 ($modes)" "[ '$modes' = '600 600 600 600 ' ]"

# ---- SIGHUP: a broken configuration is refused, a good one adds and removes collectors ----
cp "$work/acmon.toml" "$work/good.toml"
printf '\n[[collectors]]\naccount = "ghost"\nproduct = "smc"\n' >>"$work/acmon.toml"
kill -HUP "$acmon_pid"
eventually "SIGHUP with a broken configuration is refused with a log line naming file and line" "grep -q 'reload refused.*acmon.toml:[0-9]*: collectors\[2\].account' '$work/acmon.log'"
check "... acmon keeps running" "kill -0 $acmon_pid"
check "... and keeps both collectors" "curl -s '$M/metrics' | grep 'acmon_collector_up{collector=\"demo-ecs\"' >/dev/null"
write_config 0
kill -HUP "$acmon_pid"
eventually "SIGHUP with a good configuration removes a collector" "! curl -s '$M/metrics' | grep 'collector=\"demo-ecs\"' >/dev/null"
check "... and its codes" "! curl -s '$M/metrics' | grep 'acmon_code_info{product=\"ecs\"' >/dev/null"
cp "$work/good.toml" "$work/acmon.toml"
kill -HUP "$acmon_pid"
eventually "SIGHUP with a good configuration adds a collector" "curl -s '$M/metrics' | grep 'acmon_collector_up{collector=\"demo-ecs\"' >/dev/null"
# Its first run and the evaluation after it bring its code alerts back; only then is the state settled.
eventually "... whose code alerts are back once it has run" "[ \"\$(curl -s '$M/metrics' | grep -c '^acmon_alert_active{')\" = '$active_metric' ]"

# ---- SIGKILL and restart ------------------------------------------------------------------
"$ACMON" alerts --json --config "$work/acmon.toml" >"$work/alerts.before"
kill -9 "$acmon_pid"
wait "$acmon_pid" 2>/dev/null
kill "$sim_pid"
wait "$sim_pid" 2>/dev/null
sim_pid=""
check "the database is intact after SIGKILL" "[ \"\$(sqlite3 '$work/acmon.db' 'PRAGMA integrity_check')\" = ok ]"
start_acmon
curl -s "$M/metrics" >"$work/metrics.after"
n=$(grep -c '^acmon_code_info{' "$work/metrics.after")
check "after the restart, /metrics serves the 380 codes from the database before any poll ($n)" "[ '$n' = 380 ]"
check "... and the same alerts" "[ \"\$(grep -c '^acmon_alert_active{' '$work/metrics.after')\" = '$active_metric' ]"
"$ACMON" alerts --json --config "$work/acmon.toml" >"$work/alerts.after"
# Each alert by its identity with its start, in any order. The summary ("expires in 3h 12m") moves
# with the clock, and so may a code_expiring alert itself (a code crossing its warning or critical
# threshold, or expiring, between the two reads): only those may differ.
alert_keys() { json_eval 'for (const a of d) console.log([a.rule, a.severity, a.id || a.collector, a.region || "", a.order_id || "", a.starts_at].join(" "))' <"$1" | sort; }
changed=$(comm -3 <(alert_keys "$work/alerts.before") <(alert_keys "$work/alerts.after") | grep -v '^\s*code_expiring ' || true)
check "acmon alerts is the same after the restart (no duplicates, same starts_at)" \
  "[ -s '$work/alerts.before' ] && [ -z \"\$changed\" ] && [ -z \"\$(alert_keys '$work/alerts.after' | uniq -d)\" ]"
[ -n "$changed" ] && echo "$changed" | head -5
dups=$(sqlite3 "$work/acmon.db" "SELECT count(*) FROM (SELECT key FROM alerts WHERE ends_at IS NULL GROUP BY key HAVING count(*) > 1)")
check "no alert is stored twice" "[ '$dups' = 0 ]"

# ---- SIGTERM with a run in flight -----------------------------------------------------------
start_sim --generate '{"account":"LTAIrun","secret":"run-secret","smc":300,"ecs":{"regions":["cn-hangzhou"],"per_region":80},"seed":7}'
curl -s -X POST "http://127.0.0.1:$port/_sim/faults" -d '[{"kind":"delay","delay_ms":8000,"times":0}]' >/dev/null
kill -9 "$acmon_pid"; wait "$acmon_pid" 2>/dev/null
# The daemon before this one may have recorded failures: with the simulator down and a 10 s
# interval, a slow machine lets a scope fall due. Only what this daemon records counts here.
failed_before=$(sqlite3 "$work/acmon.db" 'SELECT count(*) FROM runs WHERE ok=0')
write_config 1
start_acmon
# Both scopes' first runs are waiting on the slow simulator once it has delayed two requests.
sim_delayed() { [ "$(curl -s "http://127.0.0.1:$port/_sim/stats" | json_eval 'console.log(d.faults_fired)')" -ge 2 ]; }
wait_for 20 sim_delayed || bad "the simulator never held both first runs"
t0=$(date +%s%N)
kill -TERM "$acmon_pid"
wait "$acmon_pid"
status=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
acmon_pid=""
check "SIGTERM with runs in flight stops cleanly in ${ms} ms (exit $status)" "[ $status = 0 ] && [ $ms -lt 4000 ]"
failed_after=$(sqlite3 "$work/acmon.db" 'SELECT count(*) FROM runs WHERE ok=0')
check "... abandoning the runs without recording a failure ($failed_before before, $failed_after after)" \
  "[ '$failed_after' = '$failed_before' ]"

# ---- sd_notify: READY=1 once up, WATCHDOG=1 and STATUS= from the main loop, STOPPING=1 ------
if command -v python3 >/dev/null 2>&1; then
  sock="$work/notify.sock"
  python3 - "$sock" >"$work/notify.log" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
end = time.time() + 20
while time.time() < end:
    try:
        msg = s.recv(4096).decode()
    except socket.timeout:
        break
    print(msg.replace("\n", " | "), flush=True)
    if "STOPPING=1" in msg:
        break
PY
  listener=$!
  for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.05; done
  curl -s -X DELETE "http://127.0.0.1:$port/_sim/faults" >/dev/null
  NOTIFY_SOCKET="$sock" WATCHDOG_USEC=1000000 "$ACMON" run --config "$work/acmon.toml" >>"$work/acmon.log" 2>&1 &
  acmon_pid=$!
  wait_ready
  # A few more watchdog ticks, and the status of a finished run.
  wait_for 10 "[ \$(grep -c 'WATCHDOG=1' '$work/notify.log') -ge 2 ] && grep -q 'STATUS=last run: demo-' '$work/notify.log'"
  kill -TERM "$acmon_pid"
  wait "$acmon_pid"
  acmon_pid=""
  wait "$listener"
  check "sd_notify: READY=1 is sent" "grep -q 'READY=1' '$work/notify.log'"
  check "sd_notify: WATCHDOG=1 is sent from the main loop" "[ \$(grep -c 'WATCHDOG=1' '$work/notify.log') -ge 2 ]"
  check "sd_notify: STATUS= tells the last run" "grep -q 'STATUS=last run: demo-' '$work/notify.log'"
  check "sd_notify: STOPPING=1 on SIGTERM" "grep -q 'STOPPING=1' '$work/notify.log'"
else
  bad "python3 is needed to listen on a notify socket"
fi

finish
