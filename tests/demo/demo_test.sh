#!/usr/bin/env bash
# scripts/demo as a newcomer runs it: within a minute its Prometheus scrapes acmon with acmon's
# rules loaded, and its Alertmanager holds acmon's alerts.
#   demo_test.sh SOURCE_DIR
set -uo pipefail
src=$1
. "$src/tests/lib.sh"
work=$(mktemp -d)
"$src/scripts/demo" --for 120 >"$work/demo.log" 2>&1 &
demo_pid=$!
trap 'kill "$demo_pid" 2>/dev/null; wait "$demo_pid" 2>/dev/null; rm -rf "$work"' EXIT
urls=$src/build/demo/urls
rm -f "$urls"

# The demo installs and builds first (a no-op once scripts/test has built).
for _ in $(seq 600); do [ -s "$urls" ] && break; kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.5; done
check "the demo prints acmon's, Prometheus' and Alertmanager's URLs" "[ -s '$urls' ] && grep -q 'Prometheus *http://' '$work/demo.log' && grep -q 'Alertmanager *http://' '$work/demo.log'"
[ -s "$urls" ] || { tail -20 "$work/demo.log"; finish; }
A=$(awk '$1 == "acmon" {print $2}' "$urls")
P=$(awk '$1 == "prometheus" {print $2}' "$urls")
AM=$(awk '$1 == "alertmanager" {print $2}' "$urls")
started=$(date +%s)

want_rules=$(grep -c '^ *- alert:' "$src/prometheus/acmon-rules.yml")
within 30 "Prometheus has acmon's $want_rules rules loaded" \
  "[ \"\$(curl -s '$P/api/v1/rules' | json_eval 'console.log(d.data.groups.reduce((n, g) => n + g.rules.length, 0))')\" = $want_rules ]"
within 30 "Prometheus scrapes acmon ($A)" \
  "curl -s '$P/api/v1/targets' | json_eval 'process.exit(d.data.activeTargets.some(t => t.health === \"up\" && t.scrapeUrl.startsWith(\"$A\")) ? 0 : 1)'"
within 30 "Prometheus has acmon's codes" \
  "curl -s '$P/api/v1/query' --data-urlencode 'query=count(acmon_code_info)' | json_eval 'process.exit(d.data.result.length && +d.data.result[0].value[1] > 100 ? 0 : 1)'"
within 60 "Alertmanager holds acmon's alerts (code_expiring, code_usage_high)" \
  "curl -s '$AM/api/v2/alerts' | json_eval 'const n = new Set(d.map(a => a.labels.alertname)); process.exit(n.has(\"code_expiring\") && n.has(\"code_usage_high\") ? 0 : 1)'"
check "... within a minute of the URLs being printed ($(( $(date +%s) - started )) s)" "[ $(( $(date +%s) - started )) -le 60 ]"
finish
