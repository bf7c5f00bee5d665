#!/usr/bin/env bash
# The acmon binary end to end against acmon-sim: exit codes, messages, sync, codes, history,
# token create, and a SIGKILL in the middle of a large write.
#   cli_test.sh ACMON ACMON_SIM
set -uo pipefail
ACMON=$1
SIM=$2
work=$(mktemp -d)
. "$(dirname "$0")/../lib.sh"
trap '[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work"' EXIT

write_config() {  # write_config ORDER_IDS
  acmon_config "$work/acmon.toml" --database "$work/acmon.db" --log-level warn --key-id LTAIcli \
    --secret-file "$work/secret" --smc --ecs '"cn-hangzhou", "cn-beijing"' --ecs-signature v1 --polardb "$1"
}

printf 'cli-secret\n' >"$work/secret"
chmod 600 "$work/secret"
C=(--config "$work/acmon.toml")

# ---- usage and configuration errors ------------------------------------------------------
expect "version" 0 '^acmon [0-9]+\.[0-9]+\.[0-9]+' -- "$ACMON" --version
expect "no sub-command is a usage error" 2 'subcommand' -- "$ACMON"
expect "unknown flag is a usage error" 2 'unknown-flag' -- "$ACMON" codes --unknown-flag
expect "every command has --help" 0 'SMC activation code' -- "$ACMON" token create --help
expect "missing configuration file" 78 'nope.toml: cannot read' -- "$ACMON" check-config --config "$work/nope.toml"
printf '[daemon]\nlisten = "127.0.0.1:9796"\n\n[[collectors]]\naccount = "ghost"\nproduct = "smc"\n' >"$work/bad.toml"
expect "configuration error names file:line and key" 78 "bad.toml:5: collectors\[0\]\.account: no \[\[accounts\]\] entry is named 'ghost'" \
  -- "$ACMON" check-config --config "$work/bad.toml"

start_sim --generate '{"account":"LTAIcli","secret":"cli-secret","smc":230,"ecs":{"regions":["cn-hangzhou","cn-beijing"],"per_region":75},"polardb":{"orders":["2233000000001"],"per_order":61}}'
write_config '"2233000000001"'
expect "check-config accepts a good file" 0 'ok \(1 accounts, 3 collectors' -- "$ACMON" check-config "${C[@]}"
chmod 640 "$work/secret"
expect "check-config refuses a group-readable secret" 78 'readable by its group or others' -- "$ACMON" check-config "${C[@]}"
chmod 600 "$work/secret"
expect "token create checks --count before any call" 2 'count' -- "$ACMON" token create --account demo --count 0 "${C[@]}"
expect "token create checks --ttl-days before any call" 2 'ttl-days' -- "$ACMON" token create --account demo --ttl-days 91 "${C[@]}"
expect "codes refuses an unknown state" 2 'not one of active' -- "$ACMON" codes --state bogus "${C[@]}"
expect "sync refuses an unknown collector" 2 'no such collector' -- "$ACMON" sync --collector nope "${C[@]}"
requests=$(curl -s "http://127.0.0.1:$port/_sim/stats" | json_eval 'console.log(d.requests)')
[ "$requests" = "0" ] && ok "no API call was made by refused commands" || bad "refused commands made $requests API calls"

# ---- sync, codes, history ----------------------------------------------------------------
expect "sync of every collector" 0 'demo-smc: ok, 230 codes \(230 new' -- "$ACMON" sync "${C[@]}"
n=$("$ACMON" codes --json "${C[@]}" | json_eval 'console.log(d.length)')
[ "$n" = "441" ] && ok "codes --json lists all 441 codes" || bad "codes --json lists $n codes, not 441"
keys=$("$ACMON" codes --json --product ecs "${C[@]}" | json_eval 'console.log(Object.keys(d[0]).join(","))')
want="product,account,region,order_id,id,name,description,limit,registered,deregistered,created_at,expires_at,api_status,state,first_seen,last_seen"
[ "$keys" = "$want" ] && ok "codes --json has exactly the SPEC keys" || bad "codes --json keys: $keys"
z=$("$ACMON" codes --json --product polardb "${C[@]}" | json_eval 'console.log(d.every(c => /Z$/.test(c.expires_at) && c.region === null && c.limit === null) ? "yes" : "no")')
[ "$z" = "yes" ] && ok "polardb records: UTC times with Z, null region and limit" || bad "polardb record shape"
expect "codes table" 0 'PRODUCT +ACCOUNT' -- "$ACMON" codes --product smc "${C[@]}"
expect "unchanged re-sync changes nothing" 0 'demo-smc: ok, 230 codes \(0 new, 0 changed, 0 deleted\)' -- "$ACMON" sync --collector demo-smc "${C[@]}"

curl -s -X PATCH "http://127.0.0.1:$port/_sim/codes/smc/at-gen00000001" -d '{"RegisteredCount":"1000","Count":"1000"}' >/dev/null
curl -s -X DELETE "http://127.0.0.1:$port/_sim/codes/smc/at-gen00000002" >/dev/null
expect "a changed and a removed code" 0 'demo-smc: ok, 229 codes \(0 new, 1 changed, 1 deleted\)' -- "$ACMON" sync --collector demo-smc "${C[@]}"
expect "history shows the change" 0 'used +\+[0-9]+' -- "$ACMON" history at-gen00000001 "${C[@]}"
expect "history shows the deletion" 0 'deleted' -- "$ACMON" history at-gen00000002 "${C[@]}"
ev=$("$ACMON" history at-gen00000002 --json "${C[@]}" | json_eval 'console.log(d.map(e => e.event).join(","))')
[ "$ev" = "created,deleted" ] && ok "history --json events" || bad "history --json events: $ev"
expect "deleted codes leave the current list" 0 '^1 code' -- "$ACMON" codes --state deleted "${C[@]}"
expect "the exhausted code" 0 'at-gen00000001 .* exhausted' -- "$ACMON" codes --state exhausted "${C[@]}"

# ---- failures: nothing changes, the others are still written -------------------------------
before=$("$ACMON" codes --json "${C[@]}" | md5sum)
curl -s -X PATCH "http://127.0.0.1:$port/_sim/codes/smc/at-gen00000003" -d '{"RegisteredCount":"7"}' >/dev/null
for fault in "throttle:Throttling.User" "error500:InternalError" "malformed:parse error" "drop:network error"; do
  kind=${fault%%:*}
  curl -s -X POST "http://127.0.0.1:$port/_sim/faults" \
    -d "[{\"kind\":\"$kind\",\"action\":\"ListAccessTokens\",\"after\":2,\"times\":0}]" >/dev/null
  expect "a persistent $kind on page 3 of 5 fails the run" 1 \
    "demo-smc \(account demo\): FAILED after 3 page\(s\).*${fault#*:}.*page 3" -- "$ACMON" sync --collector demo-smc "${C[@]}"
  after=$("$ACMON" codes --json "${C[@]}" | md5sum)
  [ "$before" = "$after" ] && ok "... and the failed run changed no code" || bad "the failed $kind run changed codes"
done
failures=$(sqlite3 "$work/acmon.db" "SELECT count(*) FROM runs WHERE ok=0 AND pages=3 AND error LIKE '%InternalError%'")
[ "$failures" = "1" ] && ok "the failed run is recorded with its error and page count" || bad "failed runs recorded: $failures"
curl -s -X DELETE "http://127.0.0.1:$port/_sim/faults" >/dev/null
write_config '"2233000000001", "404404"'
expect "one failing scope exits 1 and the others are written" 1 'demo-polardb \(account demo, order 404404\): FAILED.*InvalidAliyunOrderId.NotFound' -- "$ACMON" sync "${C[@]}"
expect "... the other scopes were still written" 0 'at-gen00000003 .* 7/' -- "$ACMON" codes --product smc "${C[@]}"
printf 'wrong-secret\n' >"$work/secret"
expect "wrong credentials name the collector, account and API message" 1 'demo-smc \(account demo\): FAILED.*SignatureDoesNotMatch.*Specified signature' -- "$ACMON" sync --collector demo-smc "${C[@]}"
printf 'cli-secret\n' >"$work/secret"

# ---- token create: the code is shown once and stored nowhere --------------------------------
out=$("$ACMON" token create --account demo --name ci --count 5 --ttl-days 2 "${C[@]}" 2>&1)
code=$(sed -n 's/^AccessTokenCode: *//p' <<<"$out")
id=$(sed -n 's/^AccessTokenId: *//p' <<<"$out")
if [ -n "$code" ] && [ -n "$id" ]; then ok "token create prints the id and the code"; else bad "token create: $out"; fi
"$ACMON" sync --collector demo-smc "${C[@]}" >"$work/sync.out" 2>&1
grep -q "$id" <("$ACMON" codes --product smc "${C[@]}") && ok "the new code is listed by the next sync" || bad "new code not listed"
if grep -rqa -- "$code" "$work"/acmon.db* "$work/sync.out"; then bad "the code was written somewhere"; else ok "the code is in no database file or log"; fi

# ---- the documents' own sample records (tests/fixtures/sim-sample.json) --------------------
start_sim --data "$(dirname "$0")/../fixtures/sim-sample.json"
printf 'sample-secret\n' >"$work/sample-secret"
chmod 600 "$work/sample-secret"
acmon_config "$work/sample.toml" --database "$work/sample.db" --account sample --key-id LTAIsample \
  --secret-file "$work/sample-secret" --smc --ecs '"*"' --polardb '"2233****445566", "2233000000002"'
expect "sync of the documents' sample records" 0 'sample-smc: ok, 1 codes' -- "$ACMON" sync --config "$work/sample.toml"
sample=$("$ACMON" codes --json --config "$work/sample.toml" | json_eval 'console.log(d.map(c => [c.product, c.id, c.limit, c.registered, c.expires_at].join(" ")).join("; "))')
want="ecs 4ECEEE12-56F1-4FBC-9AB1-890F1234**** 1 1 2021-01-20T10:00:00Z; polardb 123   2054-10-16T16:46:20Z; smc at-bp1akz2zp67r0k6r**** 100 5 2022-10-09T02:35:44Z"
[ "$sample" = "$want" ] && ok "the sample records, field by field" || bad "sample records: $sample"

# ---- SIGKILL in the middle of a large write --------------------------------------------------
start_sim --generate '{"account":"LTAIcli","secret":"cli-secret","smc":60000}'
acmon_config "$work/acmon.toml" --database "$work/acmon.db" --log-level warn --key-id LTAIcli \
  --secret-file "$work/secret" --smc
rm -f "$work"/acmon.db*
killed=0
for delay in 0.05 0.1 0.15 0.2 0.25 0.3 0.35 0.4 0.45 0.5 0.6 0.8; do
  "$ACMON" sync "${C[@]}" >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
  wait "$pid" 2>/dev/null
  check=$(sqlite3 "$work/acmon.db" "PRAGMA integrity_check" 2>&1)
  if [ "$(sqlite3 "$work/acmon.db" "SELECT count(*) FROM sqlite_master WHERE name='codes'" 2>&1)" = 0 ]; then
    count=0  # killed before the schema was committed (a slow start, a sanitizer build): the old state
  else
    count=$(sqlite3 "$work/acmon.db" "SELECT count(*) FROM codes WHERE deleted_at IS NULL" 2>&1 || echo none)
  fi
  if [ "$check" != "ok" ] || { [ "$count" != "0" ] && [ "$count" != "60000" ]; }; then
    bad "after SIGKILL at ${delay}s: integrity '$check', codes '$count' (must be 0 or 60000)"
  fi
done
[ $killed -gt 0 ] && ok "SIGKILL during a 60000-code sync ($killed kills) leaves an intact database, old or new state" \
  || bad "no sync was still running to be killed"
"$ACMON" sync "${C[@]}" >/dev/null 2>&1
count=$(sqlite3 "$work/acmon.db" "SELECT count(*) FROM codes WHERE deleted_at IS NULL")
[ "$count" = "60000" ] && ok "a sync after the kills completes" || bad "after the kills: $count codes"

finish
