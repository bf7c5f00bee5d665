#!/usr/bin/env bash
# The acmon binary with roles to assume, against acmon-sim's STS: check-config, sync as the member,
# errors naming the account and the API's code, and `acmon run` past several lifetimes of STS
# credentials that live 4 seconds, without a failed run.
#   credentials_cli_test.sh ACMON ACMON_SIM
set -uo pipefail
ACMON=$1
SIM=$2
work=$(mktemp -d)
. "$(dirname "$0")/../lib.sh"
acmon_pid=""
trap '[ -n "$acmon_pid" ] && kill -9 "$acmon_pid" 2>/dev/null; [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work"' EXIT

MGMT=1000000000000001
MEMBER=2000000000000002
token() { printf '{"_account":"%s","AccessTokenId":"%s","Count":"10","RegisteredCount":"1","TimeToLiveInDays":"30","CreationTime":"2026-01-01T00:00:00Z","Status":"activated","Name":"%s"}' "$1" "$2" "$2"; }
cat >"$work/org.json" <<JSON
{"accounts": [
  {"account_id": "$MGMT", "access_key_id": "LTAImgmt", "access_key_secret": "mgmt-secret"},
  {"account_id": "$MEMBER", "roles": [{"name": "acmon-reader", "trust": ["$MGMT"]},
                                      {"name": "guarded", "trust": ["$MGMT"], "external_id": "ext-123"}]}],
 "sts_expire_after": 4,
 "smc": [$(token "$MEMBER" at-member-1), $(token "$MEMBER" at-member-2), $(token LTAImgmt at-mgmt-1)]}
JSON
printf 'mgmt-secret\n' >"$work/secret"
chmod 600 "$work/secret"
start_sim --data "$work/org.json" || exit 1
mport=$(free_port)
M="http://127.0.0.1:$mport"

write_config() {  # write_config ROLE [EXTRA ACCOUNT LINE]
  cat >"$work/acmon.toml" <<TOML
[daemon]
database = "$work/acmon.db"
listen = "127.0.0.1:$mport"

[[accounts]]
name = "member"
access_key_id = "LTAImgmt"
access_key_secret_file = "$work/secret"
assume_role = "acs:ram::$MEMBER:role/$1"
sts_endpoint = "http://127.0.0.1:$port"
${2:-}

[[collectors]]
account = "member"
product = "smc"
endpoint = "http://127.0.0.1:$port"
interval = "10s"
TOML
}

write_config acmon-reader
expect "check-config accepts an account that assumes a role (no request made)" 0 'ok \(1 accounts' \
  -- "$ACMON" check-config --config "$work/acmon.toml"
check "check-config made no request" \
  "curl -sf http://127.0.0.1:$port/_sim/stats | json_eval 'process.exit(d.sts.issued === 0 ? 0 : 1)'"
expect "sync lists the member's codes with the role's credentials" 0 'member-smc.*ok, 2 codes' \
  -- "$ACMON" sync --config "$work/acmon.toml" --no-notify
expect "codes are the member's" 0 'at-member-2' -- "$ACMON" codes --config "$work/acmon.toml"
check "the management account's own code is not among them" "! grep -q at-mgmt-1 <<<\"\$out\""

write_config nobody
expect "a role the member lacks fails the run, naming the account and the code" 1 \
  "account 'member': AssumeRole acs:ram::$MEMBER:role/nobody.*EntityNotExist.Role" \
  -- "$ACMON" sync --config "$work/acmon.toml" --no-notify
check "no secret in that message" "! grep -q mgmt-secret <<<\"\$out\""
write_config guarded
expect "a role that asks for an ExternalId refuses a call without it: NoPermission" 1 \
  "account 'member'.*NoPermission" -- "$ACMON" sync --config "$work/acmon.toml" --no-notify
write_config guarded 'external_id = "ext-123"'
expect "with the ExternalId the role is assumed" 0 'ok, 2 codes' \
  -- "$ACMON" sync --config "$work/acmon.toml" --no-notify
write_config acmon-reader 'external_id = "x"'
expect "a bad external_id is a configuration error naming file, line and key" 78 \
  "acmon.toml:11: accounts\[0\].external_id: must be 2 to 1224" -- "$ACMON" check-config --config "$work/acmon.toml"

# The daemon: credentials that live 4 s, runs every 10 s (jittered), for 26 s; a fresh database,
# without the failed runs above.
write_config acmon-reader
rm -f "$work/acmon.db" "$work/acmon.db-wal" "$work/acmon.db-shm"
"$ACMON" run --config "$work/acmon.toml" >>"$work/acmon.log" 2>&1 &
acmon_pid=$!
wait_for 10 "curl -sf $M/readyz >/dev/null" || bad "acmon run became ready"
sleep 26
metrics=$(curl -sf "$M/metrics")
successes=$(grep -E '^acmon_collector_runs_total\{.*result="success"' <<<"$metrics" | awk '{print $2}')
failures=$(grep -E '^acmon_collector_runs_total\{.*result="failure"' <<<"$metrics" | awk '{print $2}')
check "the daemon ran past several credential lifetimes ($successes successful runs)" "[ \"\${successes:-0}\" -ge 3 ]"
check "without a failed run (${failures:-0})" "[ \"\${failures:-0}\" = 0 ]"
check "without an expired-token answer in its log" "! grep -q 'InvalidSecurityToken' \"$work/acmon.log\""
check "the role was assumed again as its credentials expired" \
  "curl -sf http://127.0.0.1:$port/_sim/stats | json_eval 'process.exit(d.sts.issued >= 3 ? 0 : 1)'"
check "no secret and no security token in /metrics" "! grep -qE 'mgmt-secret|CAIS[0-9a-f]{16}' <<<\"\$metrics\""
kill "$acmon_pid"
wait "$acmon_pid" 2>/dev/null
acmon_pid=""
check "no secret and no security token in the log" "! grep -qE 'mgmt-secret|CAIS[0-9a-f]{16}' \"$work/acmon.log\""
check "no secret and no security token in the database" \
  "! cat \"$work\"/acmon.db* | grep -qaE 'mgmt-secret|CAIS[0-9a-f]{16}'"
finish
