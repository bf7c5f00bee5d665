#!/usr/bin/env bash
# The exhaustion forecast end to end: a code used at a steady rate in the simulator (5 uses a
# second, 900 to go) while `acmon run` polls it every 10 s. Its forecast must fall within 30 % of
# the true exhaustion time, the code_exhaustion_forecast alert fires, `acmon codes` shows it, and a
# code whose use does not grow has no forecast.
#   forecast_test.sh ACMON ACMON_SIM
set -uo pipefail
ACMON=$1
SIM=$2
work=$(mktemp -d)
. "$(dirname "$0")/../lib.sh"
pids=()
trap 'for p in "${pids[@]}" $sim_pid; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT

start_sim --generate '{"account":"LTAIfc","secret":"fc-secret","smc":6,"seed":4}'
printf 'fc-secret\n' >"$work/secret"
chmod 600 "$work/secret"
S="http://127.0.0.1:$port/_sim/codes/smc"
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# Two codes far from expiry: one used steadily, one not at all.
for id in at-gen00000001 at-gen00000002; do
  curl -s -X PATCH "$S/$id" -d "{\"Count\":\"1000\",\"RegisteredCount\":\"100\",\"TimeToLiveInDays\":\"90\",\"CreationTime\":\"$created\",\"Status\":\"activated\"}" >/dev/null
done
t0=$(date +%s)
truth=$((t0 + 900 / 5))
# 5 uses a second, for as long as the test runs.
(
  n=100
  while sleep 1; do
    n=$((n + 5))
    curl -s -X PATCH "$S/at-gen00000001" -d "{\"RegisteredCount\":\"$n\"}" >/dev/null
  done
) &
pids+=($!)

mport=$(free_port)
acmon_config "$work/acmon.toml" --database "$work/acmon.db" --listen "127.0.0.1:$mport" --account fc \
  --key-id LTAIfc --secret-file "$work/secret" --interval 10s --smc --raw $'[alerts]\nexpiry_warning = "1d"'
"$ACMON" run --config "$work/acmon.toml" >"$work/acmon.log" 2>&1 &
pids+=($!)
M="http://127.0.0.1:$mport/metrics"
forecast_of() { curl -s "$M" | sed -n "s/^acmon_code_exhaustion_forecast_timestamp_seconds{.*id=\"$1\".*} \([0-9.e+]*\)$/\1/p" | head -1; }

# Three runs or more: a rate from a few points, not from one step.
within 60 "a forecast for the code in use, after three polls" \
  "[ \$((\$(date +%s) - t0)) -ge 24 ] && [ -n \"\$(forecast_of at-gen00000001)\" ]"
f=$(forecast_of at-gen00000001)
now=$(date +%s)
f=$(printf '%.0f' "${f:-0}")
left=$((truth - now))
off=$((f > truth ? f - truth : truth - f))
check "the forecast ($((f - now)) s from now) is within 30 % of the truth ($left s from now)" \
  "[ $left -gt 0 ] && [ $((off * 100)) -le $((left * 30)) ]"
check "a code whose use does not grow has no forecast" "[ -z \"\$(forecast_of at-gen00000002)\" ]"
within 20 "code_exhaustion_forecast fires for it (warning)" \
  "\"$ACMON\" alerts --json --config '$work/acmon.toml' | json_eval 'process.exit(d.some(a => a.rule === \"code_exhaustion_forecast\" && a.severity === \"warning\" && a.id === \"at-gen00000001\" && /^runs out in /.test(a.summary)) ? 0 : 1)'"
check "acmon codes shows when it runs out" \
  "\"$ACMON\" codes --config '$work/acmon.toml' | grep 'at-gen00000001' | grep -q '(in [0-9]*m'"
finish
