#!/usr/bin/env bash
# A real Prometheus scrapes acmon (fed by the simulator, two accounts); every query of every panel of
# dashboards/acmon.json, with the dashboard's variables substituted as Grafana does (All, then one
# concrete account), must be accepted and return data, and the variables' own queries must list the
# accounts (with display names), products, regions and collectors. The alerting rules must load.
#   dashboard_test.sh SOURCE_DIR ACMON ACMON_SIM
set -uo pipefail
src=$1
ACMON=$2
SIM=$3
work=$(mktemp -d)
. "$(dirname "$0")/../lib.sh"
pids=()
trap 'for p in "${pids[@]}" $sim_pid; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
dash=$src/dashboards/acmon.json

start_sim --generate '{"account":"LTAIdash","secret":"dash-secret","smc":150,"ecs":{"regions":["cn-hangzhou","cn-beijing"],"per_region":60},"polardb":{"orders":["2233000000001"],"per_order":30},"seed":3}'
mport=$(free_port)
printf 'dash-secret\n' >"$work/secret"
chmod 600 "$work/secret"
acmon_config "$work/acmon.toml" --database "$work/acmon.db" --listen "127.0.0.1:$mport" --account dash \
  --key-id LTAIdash --secret-file "$work/secret" --interval 10s \
  --smc --ecs '"cn-hangzhou", "cn-beijing"' --polardb '"2233000000001"' --raw "
[[accounts]]
name = \"other\"
access_key_id = \"LTAIdash\"
access_key_secret_file = \"$work/secret\"

[[collectors]]
account = \"other\"
product = \"smc\"
endpoint = \"http://127.0.0.1:$port\"
interval = \"10s\"

[[collectors]]
account = \"other\"
product = \"ecs\"
endpoint = \"http://127.0.0.1:$port\"
interval = \"10s\"
regions = [\"cn-hangzhou\"]"
# The first SMC listings are throttled: the retries and throttling panel has something to show.
curl -s -X POST "http://127.0.0.1:$port/_sim/faults" \
  -d '[{"kind":"throttle","action":"ListAccessTokens","times":2}]' >/dev/null
# A code 3 days from expiry, for the "expiring within 7 days" panels.
curl -s -X PATCH "http://127.0.0.1:$port/_sim/codes/smc/at-gen00000004" \
  -d "{\"CreationTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"TimeToLiveInDays\":\"3\",\"Status\":\"activated\"}" >/dev/null
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

# acmon_account_info comes from acmon for the accounts of an organization; this configuration has
# none, so a stand-in target serves one series for the account "dash", for the account variable's
# display names.
aport=$(free_port)
node -e "require('http').createServer((q, r) => {
  r.writeHead(200, {'Content-Type': 'text/plain; version=0.0.4'});
  r.end('# TYPE acmon_account_info gauge\\nacmon_account_info{account=\"dash\",organization=\"corp\",display_name=\"Dash Team\",status=\"CreateSuccess\",folder_id=\"fd-1\"} 1\\n');
}).listen($aport, '127.0.0.1')" &
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
      - targets: ["127.0.0.1:$mport", "127.0.0.1:$aport"]
CONF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$pport" >"$work/prometheus.log" 2>&1 &
pids+=($!)
P="http://127.0.0.1:$pport"
for _ in $(seq 200); do curl -sf "$P/-/ready" >/dev/null && break; sleep 0.1; done
curl -sf "$P/-/ready" >/dev/null && ok "Prometheus is up" || { bad "Prometheus did not start"; tail "$work/prometheus.log"; }

# Wait until the target is up and has been scraped a few times (rate() needs two samples).
for _ in $(seq 100); do
  n=$(curl -s "$P/api/v1/query" --data-urlencode "query=count_over_time(up{job=\"acmon\",instance=\"127.0.0.1:$mport\"}[1m])" |
    node -e "const d=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log(d.data.result.length?d.data.result[0].value[1]:0)")
  [ "${n:-0}" -ge 4 ] && curl -s "$P/api/v1/query" --data-urlencode 'query=count(acmon_code_info)' | grep -q '"result":\[{' &&
    curl -s "$P/api/v1/query" --data-urlencode 'query=count by (account) (acmon_code_exhaustion_forecast_timestamp_seconds)' | grep -q '"result":\[{.*{' &&
    curl -s "$P/api/v1/query" --data-urlencode 'query=count(acmon_api_retries_total)' | grep -q '"result":\[{' && break
  sleep 0.5
done
target=$(curl -s "$P/api/v1/targets" | node -e "const d=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log(d.data.activeTargets.map(t=>t.health).join(','))")
[ "$target" = up,up ] && ok "Prometheus scrapes acmon and the stand-in (targets $target)" || bad "target health: $target"

rules=$(curl -s "$P/api/v1/rules" | node -e "const d=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log(d.data.groups.reduce((n,g)=>n+g.rules.length,0))")
want_rules=$(grep -c '^ *- alert:' "$src/prometheus/acmon-rules.yml")
[ "$rules" = "$want_rules" ] && ok "the alerting rules are loaded ($rules)" || bad "rules loaded: $rules of $want_rules"

# query ARGS...: the number of series Prometheus answers for an instant query, or "error: …".
q() {
  curl -s "$P/api/v1/query" "$@" | node -e "const d=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log(d.status==='success'?d.data.result.length:'error: '+d.error)"
}

# The dashboard's queries, and its variables' queries, with the variables replaced as Grafana does for
# a selection: substitute JSON-OF-CHOSEN-VALUES (variables not named get their All value; several
# values become (a|b)). Prints "kind<TAB>title<TAB>query" lines.
cat >"$work/expand.js" <<'JS'
const fs = require('fs');
const [file, chosenJson] = process.argv.slice(2);
const d = JSON.parse(fs.readFileSync(file, 'utf8'));
const chosen = JSON.parse(chosenJson || '{}');
const esc = (s) => s.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&');
const values = { __rate_interval: '1m', __range: '5m', __interval: '15s' };
for (const v of d.templating.list) {
  if (v.type === 'datasource') continue;
  const c = chosen[v.name];
  values[v.name] = c === undefined ? v.allValue : c.length === 1 ? esc(c[0]) : '(' + c.map(esc).join('|') + ')';
}
const sub = (e) => e.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a, b) => (values[a || b] !== undefined ? values[a || b] : m));
for (const v of d.templating.list) if (v.type === 'query') console.log(`variable\t${v.name}\t${sub(v.query)}`);
const all = [];
for (const p of d.panels) { all.push(p); for (const x of p.panels || []) all.push(x); }
for (const p of all) for (const t of p.targets || []) console.log(`panel\t${p.title} ${t.refId}\t${sub(t.expr)}`);
JS
expand() { node "$work/expand.js" "$dash" "${1:-}"; }

# Variables: an account's value and text from query_result lines as Grafana writes them
# ({labels} value timestamp) and the variable's regex; label_values through the label values API.
variable_values() {  # NAME [CHOSEN]: the values listed when CHOSEN (see expand) is selected above it
  local query
  query=$(expand "${2:-}" | awk -F'\t' -v n="$1" '$1 == "variable" && $2 == n { print $3 }')
  case $query in
    query_result*)
      query=${query#query_result(}
      curl -s "$P/api/v1/query" --data-urlencode "query=${query%)}" | node -e "
const d = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const v = require('$dash').templating.list.find((x) => x.name === '$1');
const m = v.regex.match(/^\/(.*)\/([a-z]*)\$/);
const re = new RegExp(m[1], m[2]);
const out = [];
for (const r of d.data.result) {
  const line = '{' + Object.entries(r.metric).map(([k, x]) => k + '=\"' + x + '\"').join(',') + '} ' + r.value[1] + ' ' + r.value[0] * 1000;
  const g = (line.match(re) || {}).groups || {};
  out.push((g.value ?? g.text) + '=' + (g.text ?? g.value));
}
console.log(out.sort().join(' '));" ;;
    label_values*)
      local inner=${query#label_values(}
      inner=${inner%)}
      local label=${inner##*, }
      curl -s -G "$P/api/v1/label/$label/values" --data-urlencode "match[]=${inner%, *}" |
        node -e "console.log(JSON.parse(require('fs').readFileSync(0,'utf8')).data.sort().join(' '))" ;;
  esac
}
v=$(variable_values job)
check "the job variable lists acmon ($v)" "[ '$v' = acmon ]"
v=$(variable_values instance)
check "the instance variable lists acmon's address ($v)" "[ '$v' = 127.0.0.1:$mport ]"
v=$(variable_values account)
check "the account variable lists both accounts, dash by its display name ($v)" "[ '$v' = 'dash=Dash Team other=other' ]"
v=$(variable_values product)
check "the product variable lists the products ($v)" "[ '$v' = 'ecs polardb smc' ]"
v=$(variable_values region)
check "the region variable lists the ECS regions ($v)" "[ '$v' = 'cn-beijing cn-hangzhou' ]"
v=$(variable_values collector)
check "the collector variable lists every collector ($v)" "[ '$v' = 'dash-ecs dash-polardb dash-smc other-ecs other-smc' ]"
v=$(variable_values collector '{"account":["dash"]}')
check "with the account dash, the collector variable lists its collectors only ($v)" "[ '$v' = 'dash-ecs dash-polardb dash-smc' ]"
v=$(variable_values region '{"account":["other"]}')
check "with the account other, the region variable lists its region only ($v)" "[ '$v' = cn-hangzhou ]"

# Every panel's every query returns data with All selected, and with the account dash only (then
# no series names another account); with All, some panels show the account other too.
expand '{}' | awk -F'\t' '$1 == "panel"' >"$work/all.tsv"
expand '{"account":["dash"]}' | awk -F'\t' '$1 == "panel"' >"$work/dash.tsv"
check "the dashboard has panel queries ($(wc -l <"$work/all.tsv"))" "[ $(wc -l <"$work/all.tsv") -ge 20 ]"
left=$(cut -f3 "$work/all.tsv" "$work/dash.tsv" | grep -c '\$')
check "no variable is left in a substituted query ($left)" "[ '$left' = 0 ]"
others=0
while IFS=$'\t' read -r _ title expr; do
  n=$(q --data-urlencode "query=$expr")
  if [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -gt 0 ]; then ok "All: '$title': $n series"; else bad "All: '$title': $n for $expr"; fi
  o=$(curl -s "$P/api/v1/query" --data-urlencode "query=$expr" | grep -c '"account":"other"')
  others=$((others + o))
done <"$work/all.tsv"
check "with All, panels show the second account ($others queries)" "[ $others -gt 5 ]"
while IFS=$'\t' read -r _ title expr; do
  out=$(curl -s "$P/api/v1/query" --data-urlencode "query=$expr")
  n=$(node -e "const d=JSON.parse(process.argv[1]);if(d.status!=='success'){console.log('error: '+d.error)}else{
const wrong=d.data.result.filter(r=>r.metric.account!==undefined&&r.metric.account!=='dash');
console.log(wrong.length?'series of '+wrong[0].metric.account:d.data.result.length)}" "$out")
  if [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -gt 0 ]; then ok "account dash: '$title': $n series"; else bad "account dash: '$title': $n for $expr"; fi
done <"$work/dash.tsv"

# All matches the empty region of SMC and PolarDB series: their scopes are listed.
expr=$(awk -F'\t' '$2 == "Collector scopes A" { print $3 }' "$work/all.tsv")
n=$(curl -s "$P/api/v1/query" --data-urlencode "query=$expr" |
  node -e "const d=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log(d.data.result.filter(r=>!r.metric.region).map(r=>r.metric.product).sort().join(' '))")
check "with All, the scopes without a region are shown ($n)" "[ '$n' = 'polardb smc smc' ]"
# The tables name each account by its display name where acmon_account_info has one, and keep the
# rows of the accounts without one.
n=$(curl -s "$P/api/v1/query" --data-urlencode "query=$expr" |
  node -e "const d=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log(d.data.result.map(r=>r.metric.account+'='+(r.metric.display_name||'')).sort().join(' '))")
check "the scopes table names dash 'Dash Team' and keeps the account other ($n)" \
  "[ '$n' = 'dash=Dash Team dash=Dash Team dash=Dash Team dash=Dash Team other= other=' ]"
# One region: accepted, and no series of another region (SMC and PolarDB, without one, drop out).
expand '{"region":["cn-hangzhou"]}' | awk -F'\t' '$1 == "panel"' >"$work/region.tsv"
wrong=""
while IFS=$'\t' read -r _ title expr; do
  n=$(curl -s "$P/api/v1/query" --data-urlencode "query=$expr" | node -e "const d=JSON.parse(require('fs').readFileSync(0,'utf8'));
console.log(d.status!=='success'?'error':d.data.result.filter(r=>r.metric.region!==undefined&&r.metric.region!=='cn-hangzhou').length?'other region':'ok')")
  [ "$n" = ok ] || wrong+="'$title': $n; "
done <"$work/region.tsv"
check "with the region cn-hangzhou, every query is accepted and shows that region only${wrong:+ ($wrong)}" "[ -z \"\$wrong\" ]"
n=$(q --data-urlencode "query=$(awk -F'\t' '$2 == "Collector scopes A" { print $3 }' "$work/region.tsv")")
check "with the region cn-hangzhou, its two scopes are listed ($n)" "[ '$n' = 2 ]"

# The check itself fails on a query with a syntax error, and on one that finds nothing.
n=$(q --data-urlencode 'query=sum by (product (acmon_code_info)')
check "a query with a syntax error is reported as such ($n)" "[[ '$n' == error:* ]]"
n=$(q --data-urlencode 'query=acmon_code_info{account=~"nobody"}')
check "a query that finds nothing counts 0 series ($n)" "[ '$n' = 0 ]"

finish
