#!/usr/bin/env bash
# An HA pair: two `acmon run` with the same configuration (each its own database and port), both
# sending to a clustered pair of real Alertmanagers. Both replicas present the same alerts, the
# Alertmanagers hold each once (not doubled), and after one replica and one Alertmanager die, a new
# alert and a resolution still arrive and nothing is lost. Then sharding: two `acmon sync` with
# shard 0/2 and 1/2 list every scope exactly once between them.
#   ha_test.sh ACMON ACMON_SIM
set -uo pipefail
ACMON=$1
SIM=$2
work=$(mktemp -d)
. "$(dirname "$0")/../lib.sh"
pids=()
trap 'for p in "${pids[@]}" $sim_pid; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
command -v prometheus-alertmanager >/dev/null || { echo "skipped: no prometheus-alertmanager"; exit 77; }

start_sim --generate '{"account":"LTAIha","secret":"ha-secret","smc":40,"ecs":{"regions":["cn-hangzhou","cn-beijing","cn-shanghai"],"per_region":30},"polardb":{"orders":["2233000000001","2233000000002","2233000000003","2233000000004"],"per_order":5},"seed":9}'
printf 'ha-secret\n' >"$work/secret"
chmod 600 "$work/secret"

# ---- two clustered Alertmanagers ----------------------------------------------------------------
am_web=("$(free_port)" "$(free_port)")
am_peer=("$(free_port)" "$(free_port)")
printf 'route:\n  receiver: "null"\n  group_wait: 0s\nreceivers:\n  - name: "null"\n' >"$work/am.yml"
am_pids=()
for i in 0 1; do
  other=$((1 - i))
  prometheus-alertmanager --config.file="$work/am.yml" --storage.path="$work/am$i" \
    --web.listen-address="127.0.0.1:${am_web[$i]}" --cluster.listen-address="127.0.0.1:${am_peer[$i]}" \
    --cluster.advertise-address="127.0.0.1:${am_peer[$i]}" --cluster.peer="127.0.0.1:${am_peer[$other]}" \
    --cluster.settle-timeout=2s >"$work/am$i.log" 2>&1 &
  am_pids+=($!)
  pids+=($!)
done
AM=("http://127.0.0.1:${am_web[0]}" "http://127.0.0.1:${am_web[1]}")
for i in 0 1; do
  within 30 "Alertmanager $i is ready and sees 2 peers" \
    "curl -sf '${AM[$i]}/api/v2/status' | json_eval 'process.exit(d.cluster.status === \"ready\" && d.cluster.peers.length === 2 ? 0 : 1)'"
done

# ---- two replicas, one configuration --------------------------------------------------------------
notify=$(printf '[[notify]]\ntype = "alertmanager"\nurl = "%s"\n\n[[notify]]\ntype = "alertmanager"\nurl = "%s"\n' "${AM[0]}" "${AM[1]}")
acmon_pids=()
for r in a b; do
  acmon_config "$work/$r.toml" --database "$work/$r.db" --listen "127.0.0.1:$(free_port)" --account ha \
    --key-id LTAIha --secret-file "$work/secret" --interval 10s --smc --ecs '"cn-hangzhou", "cn-beijing"' \
    --raw "$notify"
  "$ACMON" run --config "$work/$r.toml" >"$work/$r.log" 2>&1 &
  acmon_pids+=($!)
  pids+=($!)
done
check "the two configurations differ only in database and listen" \
  "[ \"\$(diff <(grep -v '^database\\|^listen' '$work/a.toml') <(grep -v '^database\\|^listen' '$work/b.toml'))\" = '' ]"

# An alert's identity as each side shows it: rule, severity, then the code or collector.
acmon_alerts() { "$ACMON" alerts --json --config "$work/$1.toml" 2>/dev/null | json_eval 'console.log(d.map(a => [a.rule, a.severity, a.id || a.collector].join(" ")).sort().join("\n"))'; }
am_alerts() { curl -s "${AM[$1]}/api/v2/alerts?active=true&silenced=false&inhibited=false" | json_eval 'console.log(d.map(a => [a.labels.alertname, a.labels.severity, a.labels.id || a.labels.collector].join(" ")).sort().join("\n"))'; }
am_count() { curl -s "${AM[$1]}/api/v2/alerts?active=true" | json_eval 'console.log(d.length)'; }

listen_of() { sed -n 's/^listen = "\(.*\)"/\1/p' "$work/$1.toml"; }
# Alerts are compared once each replica has run every scope and evaluated after it (/readyz 200),
# not while one has listed SMC but not yet ECS.
within 60 "both replicas ran every scope once (/readyz 200)" \
  "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$(listen_of a)/readyz)\" = 200 ] && [ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$(listen_of b)/readyz)\" = 200 ]"
within 30 "replica a has alerts" "[ -n \"\$(acmon_alerts a)\" ]"
within 30 "both replicas present identical alerts" "[ -n \"\$(acmon_alerts a)\" ] && [ \"\$(acmon_alerts a)\" = \"\$(acmon_alerts b)\" ]"
n=$(acmon_alerts a | wc -l)
for i in 0 1; do
  within 30 "Alertmanager $i holds each of the $n alerts once" "[ \"\$(am_alerts $i)\" = \"\$(acmon_alerts a)\" ] && [ \"\$(am_count $i)\" = $n ]" ||
    { echo "Alertmanager $i (<) against replica a (>), $(am_count $i) alerts:"; diff <(am_alerts $i) <(acmon_alerts a) | head -20; }
done

# ---- a replica and an Alertmanager die ------------------------------------------------------------
kill -9 "${acmon_pids[0]}" "${am_pids[0]}"
wait "${acmon_pids[0]}" "${am_pids[0]}" 2>/dev/null
"$ACMON" codes --json --config "$work/b.toml" >"$work/codes.json"
# A code far from its limit is used up (a new alert); a code with a usage alert is reset (a resolution).
fresh=$(json_eval 'const c = d.find(c => c.product === "smc" && c.state === "active" && c.limit > 10 && c.registered / c.limit < 0.5); console.log(c.id + " " + c.limit)' <"$work/codes.json")
gone=$(acmon_alerts b | awk '$1 == "code_usage_high" && $3 ~ /^at-/ {print $3; exit}')
curl -s -X PATCH "http://127.0.0.1:$port/_sim/codes/smc/${fresh% *}" -d "{\"RegisteredCount\":\"${fresh#* }\"}" >/dev/null
[ -n "$gone" ] && curl -s -X PATCH "http://127.0.0.1:$port/_sim/codes/smc/$gone" -d '{"RegisteredCount":"0"}' >/dev/null
within 40 "the surviving replica raises the new alert (${fresh% *} used up)" "acmon_alerts b | grep -q 'code_usage_high critical ${fresh% *}'"
within 40 "the surviving Alertmanager receives it, keeps every other alert, and drops the resolved one ($gone)" \
  "[ \"\$(am_alerts 1)\" = \"\$(acmon_alerts b)\" ] && am_alerts 1 | grep -q '${fresh% *}' && ! am_alerts 1 | grep -q '^code_usage_high [a-z]* $gone\$'" ||
  { diff <(am_alerts 1) <(acmon_alerts b) | head; }
check "... each alert once ($(am_count 1) in Alertmanager, $(acmon_alerts b | wc -l) in acmon)" \
  "[ \"\$(am_count 1)\" = \"\$(acmon_alerts b | wc -l)\" ]"
metrics_b=$(curl -s "http://$(listen_of b)/metrics")
check "an unsharded replica exports acmon_shard_info{shard=\"0\",total=\"1\"} 1" \
  "grep -q '^acmon_shard_info{shard=\"0\",total=\"1\"} 1' <<<\"\$metrics_b\""

# ---- shards ---------------------------------------------------------------------------------------
orders='"2233000000001", "2233000000002", "2233000000003", "2233000000004"'
for i in 0 1; do
  acmon_config "$work/s$i.toml" --database "$work/s$i.db" --log-level error --shard "$i/2" --account ha \
    --key-id LTAIha --secret-file "$work/secret" --smc --ecs '"cn-hangzhou", "cn-beijing", "cn-shanghai"' \
    --polardb "$orders"
done
"$ACMON" sync --config "$work/s0.toml" >"$work/s0.out" 2>&1
"$ACMON" sync --config "$work/s1.toml" >"$work/s1.out" 2>&1
scopes() { grep -o '^[a-z-]*\( [a-z0-9-]*\)\?: ok' "$1" | sed 's/: ok//' | sort; }
check "shard 0/2 and 1/2 list disjoint scopes ($(scopes "$work/s0.out" | wc -l) + $(scopes "$work/s1.out" | wc -l))" \
  "[ -z \"\$(comm -12 <(scopes '$work/s0.out') <(scopes '$work/s1.out'))\" ]"
all=$( (scopes "$work/s0.out"; scopes "$work/s1.out") | sort)
check "... together every one of the 8 scopes, each once" \
  "[ \"\$(sort -u <<<\"\$all\" | wc -l)\" = 8 ] && [ \"\$(wc -l <<<\"\$all\")\" = 8 ]"
check "... and neither shard is empty (the hash spreads them)" "[ -n \"\$(scopes '$work/s0.out')\" ] && [ -n \"\$(scopes '$work/s1.out')\" ]"

# A replica re-sharded on a database that holds every scope exports and judges only its own.
acmon_config "$work/all.toml" --database "$work/all.db" --log-level error --account ha --key-id LTAIha \
  --secret-file "$work/secret" --smc --ecs '"cn-hangzhou", "cn-beijing", "cn-shanghai"' --polardb "$orders"
"$ACMON" sync --config "$work/all.toml" >/dev/null 2>&1
rport=$(free_port)
acmon_config "$work/r0.toml" --database "$work/all.db" --listen "127.0.0.1:$rport" --log-level error --shard 0/2 \
  --account ha --key-id LTAIha --secret-file "$work/secret" --interval 1h --smc \
  --ecs '"cn-hangzhou", "cn-beijing", "cn-shanghai"' --polardb "$orders"
"$ACMON" run --config "$work/r0.toml" >"$work/r0.log" 2>&1 &
pids+=($!)
want=$(scopes "$work/s0.out" | wc -l)
within 30 "re-sharded to 0/2 on a database of all 8 scopes: /metrics shows its $want scopes only" \
  "[ \"\$(curl -s 'http://127.0.0.1:$rport/metrics' | grep -c '^acmon_collector_up{')\" = $want ]"
finish
