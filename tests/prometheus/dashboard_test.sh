#!/usr/bin/env bash
# A real Prometheus scrapes acmon (fed by the simulator); every query of every panel of
# dashboards/acmon.json must return data, and the alerting rules must load.
#   dashboard_test.sh SOURCE_DIR ACMON ACMON_SIM
set -uo pipefail
src=$1
ACMON=$2
SIM=$3
work=$(mktemp -d)
. "$(dirname "$0")/../lib.sh"
pids=()
trap 'for p in "${pids[@]}" $sim_pid; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT

start_sim --generate '{"account":"LTAIdash","secret":"dash-secret","smc":150,"ecs":{"regions":["cn-hangzhou","cn-beijing"],"per_region":60},"polardb":{"orders":["2233000000001"],"per_order":30},"seed":3}'
mport=$(free_port)
printf 'dash-secret\n' >"$work/secret"
chmod 600 "$work/secret"
acmon_config "$work/acmon.toml" --database "$work/acmon.db" --listen "127.0.0.1:$mport" --account dash \
  --key-id LTAIdash --secret-file "$work/secret" --interval 10s \
  --smc --ecs '"cn-hangzhou", "cn-beijing"' --polardb '"2233000000001"'
"$ACMON" run --config "$work/acmon.toml" >"$work/acmon.log" 2>&1 &
pids+=($!)
# One code in steady use, so that the forecast panel has a code to show after two polls.
curl -s -X PATCH "http://127.0.0.1:$port/_sim/codes/smc/at-gen00000003" \
  -d "{\"CreationTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"TimeToLiveInDays\":\"90\",\"Status\":\"activated\"}" >/dev/null
(
  n=1
  while sleep 1; do
    n=$((n + 1))
    curl -s -X PATCH "http://127.0.0.1:$port/_sim/codes/smc/at-gen00000003" -d "{\"RegisteredCount\":\"$n\",\"Count\":\"1000\"}" >/dev/null
  done
) &
pids+=($!)

pport=$(free_port)
cp "$src/prometheus/acmon-rules.yml" "$work/"
cat >"$work/prometheus.yml" <<CONF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["acmon-rules.yml"]
scrape_configs:
  - job_name: acmon
    static_configs:
      - targets: ["127.0.0.1:$mport"]
CONF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$pport" >"$work/prometheus.log" 2>&1 &
pids+=($!)
P="http://127.0.0.1:$pport"
for _ in $(seq 200); do curl -sf "$P/-/ready" >/dev/null && break; sleep 0.1; done
curl -sf "$P/-/ready" >/dev/null && ok "Prometheus is up" || { bad "Prometheus did not start"; tail "$work/prometheus.log"; }

# Wait until the target is up and has been scraped a few times (rate() needs two samples).
for _ in $(seq 100); do
  n=$(curl -s "$P/api/v1/query" --data-urlencode 'query=count_over_time(up{job="acmon"}[1m])' |
    node -e "const d=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log(d.data.result.length?d.data.result[0].value[1]:0)")
  [ "${n:-0}" -ge 4 ] && curl -s "$P/api/v1/query" --data-urlencode 'query=count(acmon_code_info)' | grep -q '"result":\[{' &&
    curl -s "$P/api/v1/query" --data-urlencode 'query=count(acmon_code_exhaustion_forecast_timestamp_seconds)' | grep -q '"result":\[{' && break
  sleep 0.5
done
target=$(curl -s "$P/api/v1/targets" | node -e "const d=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log(d.data.activeTargets.map(t=>t.health).join(','))")
[ "$target" = up ] && ok "Prometheus scrapes acmon (target $target)" || bad "acmon target health: $target"

rules=$(curl -s "$P/api/v1/rules" | node -e "const d=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log(d.data.groups.reduce((n,g)=>n+g.rules.length,0))")
want_rules=$(grep -c '^ *- alert:' "$src/prometheus/acmon-rules.yml")
[ "$rules" = "$want_rules" ] && ok "the alerting rules are loaded ($rules)" || bad "rules loaded: $rules of $want_rules"

# Every panel's every query returns data.
node -e "
const d = require('$src/dashboards/acmon.json');
for (const p of d.panels) for (const t of p.targets) console.log(p.title + '\t' + t.expr);
" >"$work/queries.tsv"
while IFS=$'\t' read -r title expr; do
  n=$(curl -s "$P/api/v1/query" --data-urlencode "query=$expr" |
    node -e "const d=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log(d.status==='success'?d.data.result.length:'error: '+d.error)")
  if [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -gt 0 ]; then ok "panel '$title': $n series for $expr"; else bad "panel '$title': $n for $expr"; fi
done <"$work/queries.tsv"

finish
