#!/usr/bin/env bash
# [[organizations]] end to end against acmon-sim's Resource Directory: `acmon sync` lists every usable
# member's codes (its role assumed through the management account), skips members in other
# statuses, names the member it could not reach and exits 1; configuration errors; then `acmon run`
# while a member joins and another leaves (metrics and acmon_account_info follow).
#   organization_test.sh ACMON ACMON_SIM
set -uo pipefail
ACMON=$1
SIM=$2
work=$(mktemp -d)
. "$(dirname "$0")/../lib.sh"
acmon_pid=""
trap '[ -n "$acmon_pid" ] && kill -9 "$acmon_pid" 2>/dev/null; [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work"' EXIT

MGMT=1000000000000001
PROD=2000000000000002     # CreateSuccess
STAGE=3000000000000003    # InviteSuccess
PENDING=4000000000000004  # CreateVerifying: skipped
NOROLE=5000000000000005   # PromoteSuccess, without the role
PROMO=6000000000000006    # PromoteVerifying
LATE=7000000000000007     # joins while acmon runs
ROLE=ResourceDirectoryAccountAccessRole
# token ACCOUNT ID [CREATED]: an SMC token that lives 30 days (from 2026-01-01 unless CREATED).
token() { printf '{"_account":"%s","AccessTokenId":"%s","Count":"10","RegisteredCount":"1","TimeToLiveInDays":"30","CreationTime":"%s","Status":"activated","Name":"%s"}' "$1" "$2" "${3:-2026-01-01T00:00:00Z}" "$2"; }
member() { printf '{"account_id":"%s","display_name":"%s","status":"%s","folder_id":"fd-%s"}' "$1" "$2" "$3" "$4"; }
with_role() { printf '{"account_id":"%s","roles":[{"name":"%s","trust":["%s"]}]}' "$1" "$ROLE" "$MGMT"; }
# More than one page of ListAccounts (100 a page): members that failed to be created, all skipped.
failed_members=""
for i in $(seq 105); do failed_members+=",$(member "$(printf '9%015d' "$i")" "failed-$i" CreateFailed x)"; done
members_now="$(member $MGMT Management CreateSuccess root),$(member $PROD Prod CreateSuccess prod),$(member $STAGE Staging InviteSuccess stage),$(member $PENDING Pending CreateVerifying x),$(member $NOROLE NoRole PromoteSuccess x),$(member $PROMO Promo PromoteVerifying x)$failed_members"
cat >"$work/org.json" <<JSON
{"accounts": [
  {"account_id": "$MGMT", "access_key_id": "LTAImgmt", "access_key_secret": "mgmt-secret"},
  $(with_role $PROD), $(with_role $STAGE), $(with_role $PENDING), $(with_role $PROMO), $(with_role $LATE),
  {"account_id": "$NOROLE"}],
 "resource_directory": {"id": "rd-test", "management": "$MGMT", "management_name": "Management",
                        "members": [$members_now]},
 "smc": [$(token $MGMT at-mgmt-1), $(token $PROD at-prod-1), $(token $PROD at-prod-2), $(token $STAGE at-stage-1 "$(date -u -d '29 days ago' +%Y-%m-%dT%H:%M:%SZ)"),
         $(token $PENDING at-pending-1), $(token $NOROLE at-norole-1), $(token $PROMO at-promo-1),
         $(token $LATE at-late-1)]}
JSON
printf 'mgmt-secret\n' >"$work/secret"
chmod 600 "$work/secret"
start_sim --data "$work/org.json" || exit 1
mport=$(free_port)
S="http://127.0.0.1:$port"

write_config() {  # write_config DATABASE [ORGANIZATION LINES] [DAEMON LINES]
  cat >"$work/acmon.toml" <<TOML
[daemon]
database = "$1"
listen = "127.0.0.1:$mport"
${3:-}

[[accounts]]
name = "mgmt"
access_key_id = "LTAImgmt"
access_key_secret_file = "$work/secret"
sts_endpoint = "$S"

[[organizations]]
name = "corp"
account = "mgmt"
endpoint = "$S"
${2:-}

[[collectors]]
name = "corp-smc"
account = "corp"
product = "smc"
endpoint = "$S"
interval = "10s"
TOML
}

# --- acmon sync ---
write_config "$work/sync.db"
expect "check-config accepts an organization" 0 'ok' -- "$ACMON" check-config --config "$work/acmon.toml"
expect "sync exits 1: one member's role cannot be assumed" 1 "member $NOROLE \(NoRole\).*EntityNotExist\.Role" \
  -- "$ACMON" sync --config "$work/acmon.toml" --no-notify
sync_out=$out
check "sync names the member skipped for its status" "grep -q 'member $PENDING (Pending) skipped: status CreateVerifying' <<<\"\$sync_out\""
check "sync lists the other members" "grep -q 'corp-smc account $PROD: ok, 2 codes' <<<\"\$sync_out\" && grep -q 'corp-smc account $PROMO: ok, 1 codes' <<<\"\$sync_out\""
check "ListAccounts was read page by page (2 pages of 111 accounts)" \
  "curl -sf $S/_sim/stats | json_eval 'process.exit(d.by_action.ListAccounts === 2 ? 0 : 1)'"
ids=$("$ACMON" codes --config "$work/acmon.toml" --json | json_eval 'console.log(d.map(c => c.account + ":" + c.id).sort().join(" "))')
want="$MGMT:at-mgmt-1 $PROD:at-prod-1 $PROD:at-prod-2 $STAGE:at-stage-1 $PROMO:at-promo-1"
check "exactly the usable members' codes, each labelled with its AccountId (got: $ids)" "[ \"\$ids\" = \"$want\" ]"
expect "acmon codes shows the display name" 0 "Prod" -- "$ACMON" codes --config "$work/acmon.toml"

curl -sf -X POST "$S/_sim/faults" -d '[{"action":"ListAccounts","kind":"error","code":"Forbidden","status":403,"times":0}]' >/dev/null
expect "sync exits 1 when the members cannot be listed, naming the organization and the code" 1 \
  'organization corp: FAILED to list the members: .*Forbidden' -- "$ACMON" sync --config "$work/acmon.toml" --no-notify
curl -sf -X DELETE "$S/_sim/faults" >/dev/null
ids=$("$ACMON" codes --config "$work/acmon.toml" --json | json_eval 'console.log(d.map(c => c.account + ":" + c.id).sort().join(" "))')
check "... and every member's codes stay as they were (got: $ids)" "[ \"\$ids\" = \"$want\" ]"

write_config "$work/nomgmt.db" 'include_management = false'
"$ACMON" sync --config "$work/acmon.toml" --no-notify >/dev/null 2>&1
ids=$("$ACMON" codes --config "$work/acmon.toml" --json | json_eval 'console.log(d.map(c => c.id).sort().join(" "))')
check "include_management = false leaves the management account's codes out (got: $ids)" \
  "[ \"\$ids\" = 'at-prod-1 at-prod-2 at-promo-1 at-stage-1' ]"

# --- configuration errors name the key and the place ---
write_config "$work/x.db"
sed -i 's/^account = "mgmt"/account = "nobody"/' "$work/acmon.toml"
expect "an organization naming an unknown account" 78 'organizations\[0\]\.account.*nobody' \
  -- "$ACMON" check-config --config "$work/acmon.toml"
write_config "$work/x.db" 'refresh = "soon"'
expect "a bad refresh" 78 'organizations\[0\]\.refresh' -- "$ACMON" check-config --config "$work/acmon.toml"
write_config "$work/x.db"
sed -i 's/^name = "corp"/name = "mgmt"/; s/^account = "corp"/account = "mgmt"/' "$work/acmon.toml"
expect "an organization named like an account" 78 'organizations\[0\]\.name.*mgmt' \
  -- "$ACMON" check-config --config "$work/acmon.toml"

# --- acmon run: members join and leave between refreshes ---
write_config "$work/run.db" 'refresh = "2s"'
"$ACMON" run --config "$work/acmon.toml" >"$work/run.log" 2>&1 &
acmon_pid=$!
M="http://127.0.0.1:$mport"
# has REGEX: /metrics has a line matching it (read whole first: grep -q ending a pipe early would fail
# curl with SIGPIPE under pipefail).
has() { grep -qE -- "$1" <<<"$(curl -sf "$M/metrics")"; }
within 30 "the daemon exports every usable member's codes" \
  "has 'acmon_code_info{.*account=\"$STAGE\"' && has 'account=\"$PROD\"'"
within 10 "acmon_account_info names each member" \
  "has 'acmon_account_info\\{account=\"$PROD\",organization=\"corp\",display_name=\"Prod\",status=\"CreateSuccess\",folder_id=\"fd-prod\"\\} 1'"
within 10 "the member without the role is a failed scope" \
  "has 'acmon_collector_up\\{[^}]*account=\"$NOROLE\"[^}]*\\} 0'"
check "no series of a skipped member" "! has 'account=\"$PENDING\"'"
alerts_of() { "$ACMON" alerts --config "$work/acmon.toml" --json | json_eval "console.log(d.filter(a => a.account === '$1').length)"; }
within 10 "a member's code that expires tomorrow raises an alert" "[ \"\$(alerts_of $STAGE)\" -gt 0 ]"
curl -sf -X PUT "$S/_sim/resource-directory/members" \
  -d "[$(member $MGMT Management CreateSuccess root),$(member $PROD Prod CreateSuccess prod),$(member $LATE Late CreateSuccess late)]" >/dev/null
within 30 "a member that joins is listed" "has 'acmon_code_info{.*account=\"$LATE\"'"
within 10 "a member that leaves has no series" "! has 'account=\"$STAGE\"'"
check "nor the one without the role, gone too" "! has 'account=\"$NOROLE\"'"
within 10 "the alerts of the member that left resolve" "[ \"\$(alerts_of $STAGE)\" = 0 ]"
within 10 "the leaver's codes stay in the database as history (acmon codes --all)" \
  "\"$ACMON\" codes --config \"$work/acmon.toml\" --all | grep -q 'at-stage-1.*no longer watched'"
check "acmon codes shows the current members only" \
  "\"$ACMON\" codes --config \"$work/acmon.toml\" >\"$work/codes.txt\" && grep -q at-late-1 \"$work/codes.txt\" && ! grep -q at-stage-1 \"$work/codes.txt\""
check "the listing of the members is an ok scope of the organization's collector" \
  "has 'acmon_collector_up\\{collector=\"corp-smc\",product=\"smc\",account=\"corp\",region=\"\\*\"\\} 1'"
curl -sf -X POST "$S/_sim/faults" -d '[{"action":"ListAccounts","kind":"error500","times":0}]' >/dev/null
within 20 "a failed listing of the members is a failed scope of the organization" \
  "has 'acmon_collector_up\\{collector=\"corp-smc\",product=\"smc\",account=\"corp\",region=\"\\*\"\\} 0'"
check "a failed listing of the members keeps them" "has 'acmon_code_info{.*account=\"$LATE\"'"
check "and their acmon_account_info" "has 'acmon_account_info{account=\"$LATE\"'"
kill "$acmon_pid"
wait "$acmon_pid" 2>/dev/null
acmon_pid=""
finish
