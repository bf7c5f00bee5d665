#!/usr/bin/env bash
# Today's acmon on a database of each previous schema with data in it (tests/fixtures/schema-v*.sql):
# codes, alerts and history, which only read, refuse it with a clear message and leave it as it was
# (they never upgrade a database under an older daemon); acmon migrate upgrades it to the current
# version, every row surviving (and is refused while a daemon holds the database); the read-only
# commands read it then, and a sync against acmon-sim continues the old history. A database of a
# newer schema is refused with a clear message and left untouched.
#   migration_test.sh ACMON ACMON_SIM
set -uo pipefail
ACMON=$1
SIM=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
. "$here/../lib.sh"
trap '[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work"' EXIT

# The schema this acmon writes (k_schema_version in db/include/acmon/db/store.hpp). A new
# migration bumps it: add tests/fixtures/schema-vN.sql for the version it leaves behind.
current=7
db=$work/acmon.db
C=(--config "$work/acmon.toml")
sql() { sqlite3 -batch "$1" "$2" 2>&1; }  # prints sqlite3's error instead of an empty answer
# refused_as_older DB VERSION CONFIG_OPTION...: codes, alerts and history refuse the database,
# naming it and what upgrades it, and leave it as it was (its schema version and its bytes).
refused_as_older() {
  local file=$1 version=$2 before
  shift 2
  before=$(md5sum <"$file")
  local msg="database $file: schema version $version is older than this acmon's \($current\); a command that only reads does not upgrade it: the daemon does when it starts, or .acmon migrate."
  expect "acmon codes refuses the version $version database" 1 "$msg" -- "$ACMON" codes "$@"
  expect "... acmon alerts too" 1 "$msg" -- "$ACMON" alerts "$@"
  expect "... acmon history too" 1 "$msg" -- "$ACMON" history at-old-1 "$@"
  check "... none of them changed it (same bytes, still schema version $version)" \
    "[ \"\$(md5sum <'$file')\" = '$before' ] && [ \"\$(sql '$file' 'PRAGMA user_version')\" = $version ]"
}

printf 'mig-secret\n' >"$work/secret"
chmod 600 "$work/secret"
# No simulator yet: the read-only commands must not need one. Port 9 (discard) is never called.
port=9
acmon_config "$work/acmon.toml" --database "$db" --listen 127.0.0.1:0 --account mig --key-id LTAImig --secret-file "$work/secret" --smc \
  --raw $'[alerts]\nusage_warning = 0.80\nusage_critical = 0.95'

if ! out=$(sqlite3 -batch "$db" <"$here/../fixtures/schema-v1.sql" 2>&1); then
  bad "the version 1 fixture loads: $out"
  finish
  exit
fi
check "the fixture is a version 1 database" "[ \"\$(sql '$db' 'PRAGMA user_version')\" = 1 ]"

# ---- the read-only commands on the old database, acmon migrate -------------------------------
refused_as_older "$db" 1 "${C[@]}"
# A daemon holds the database (its lock, as WriterLock takes it): no upgrade under it.
(
  exec 9>"$db.lock"
  flock 9
  exec sleep 30  # the lock is this process's: it goes when the process does
) &
holder=$!
wait_for 10 "! flock -n '$db.lock' true"
expect "acmon migrate is refused while a daemon holds the database" 1 "database $db is in use by another acmon run" \
  -- "$ACMON" migrate "${C[@]}"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
check "... still schema version 1" "[ \"\$(sql '$db' 'PRAGMA user_version')\" = 1 ]"
expect "acmon migrate upgrades it" 0 "$db: schema version $current \(upgraded from 1\)" -- "$ACMON" migrate "${C[@]}"
expect "... and again: already current" 0 "$db: schema version $current, already current" -- "$ACMON" migrate "${C[@]}"
expect "acmon codes --json reads the migrated database" 0 'at-old-1' -- "$ACMON" codes --json "${C[@]}"
got=$(json_eval 'console.log(d.map(c => [c.id, c.state, c.limit, c.registered, c.created_at, c.expires_at, c.first_seen, c.name, c.description].join("|")).join("\n"))' <<<"$out")
want="at-old-1|active|100|7|2100-01-01T00:00:00Z|2100-04-01T00:00:00Z|2026-01-01T00:00:00Z|builds|the build farm
at-old-2|expired|10|1|2020-01-01T00:00:00Z|2020-01-08T00:00:00Z|2026-01-01T00:00:00Z|lapsed|"
check "... every live code, field by field" "[ \"\$got\" = \"\$want\" ]"
[ "$got" = "$want" ] || sed 's/^/     | /' <<<"$got"
check "the schema is migrated to version $current" "[ \"\$(sql '$db' 'PRAGMA user_version')\" = $current ]"
check "... with the tables versions 2, 3 and 6 added" \
  "[ \"\$(sql '$db' \"SELECT group_concat(name) FROM (SELECT name FROM sqlite_master WHERE type='table' ORDER BY name)\")\" = alerts,codes,history,members,meta,notifications,runs,scopes ]"
check "... and every old row kept (3 runs, 3 codes, 5 history rows)" \
  "[ \"\$(sql '$db' 'SELECT (SELECT count(*) FROM runs) || \",\" || (SELECT count(*) FROM codes) || \",\" || (SELECT count(*) FROM history)')\" = 3,3,5 ]"
check "the migrated database passes integrity_check" "[ \"\$(sql '$db' 'PRAGMA integrity_check')\" = ok ]"
expect "the deleted code stays deleted" 0 'at-gone' -- "$ACMON" codes --state deleted "${C[@]}"
expect "acmon history shows the old events" 0 '.' -- "$ACMON" history at-old-1 --json "${C[@]}"
got=$(json_eval 'console.log(d.map(e => e.event + ":" + e.detail).join(","))' <<<"$out")
check "... created, then used +2 ($got)" "[ '$got' = 'created:,used:used +2' ]"
expect "acmon alerts works on the migrated database (no alert state before version 2)" 0 '^\[\]$' \
  -- "$ACMON" alerts --json "${C[@]}"

# ---- a sync continues the old history -----------------------------------------------------------
cat >"$work/sim.json" <<'JSON'
{"accounts": [{"access_key_id": "LTAImig", "access_key_secret": "mig-secret"}],
 "smc": [
  {"_account": "LTAImig", "AccessTokenId": "at-old-1", "TimeToLiveInDays": "90", "Count": "100", "RegisteredCount": "10",
   "CreationTime": "2100-01-01T00:00:00Z", "Status": "activated", "Name": "builds", "Description": "the build farm"},
  {"_account": "LTAImig", "AccessTokenId": "at-old-2", "TimeToLiveInDays": "7", "Count": "10", "RegisteredCount": "1",
   "CreationTime": "2020-01-01T00:00:00Z", "Status": "expired", "Name": "lapsed", "Description": ""},
  {"_account": "LTAImig", "AccessTokenId": "at-new", "TimeToLiveInDays": "90", "Count": "10", "RegisteredCount": "9",
   "CreationTime": "2100-01-01T00:00:00Z", "Status": "activated", "Name": "busy", "Description": ""}
 ]}
JSON
start_sim --data "$work/sim.json" || { finish; exit; }
acmon_config "$work/acmon.toml" --database "$db" --listen 127.0.0.1:0 --account mig --key-id LTAImig --secret-file "$work/secret" --smc \
  --raw $'[alerts]\nusage_warning = 0.80\nusage_critical = 0.95'
expect "acmon sync on the migrated database: one new, one used, nothing else" 0 \
  'mig-smc: ok, 3 codes \(1 new, 1 changed, 0 deleted\)' -- "$ACMON" sync --no-notify "${C[@]}"
expect "history continues after the old rows" 0 '.' -- "$ACMON" history at-old-1 --json "${C[@]}"
got=$(json_eval 'console.log(d.map(e => e.event + ":" + e.detail).join(","))' <<<"$out")
check "... created, used +2, used +3 ($got)" "[ '$got' = 'created:,used:used +2,used:used +3' ]"
check "the old run rows are still there, and the new one after them" \
  "[ \"\$(sql '$db' 'SELECT group_concat(id) FROM (SELECT id FROM runs ORDER BY id)')\" = 1,2,3,4 ]"
expect "acmon alerts shows the alert of the new code" 0 'code_usage_high.*at-new' -- "$ACMON" alerts "${C[@]}"
expect "the deleted code is still deleted" 0 'at-gone' -- "$ACMON" codes --state deleted "${C[@]}"
check "the schema is still version $current" "[ \"\$(sql '$db' 'PRAGMA user_version')\" = $current ]"

# ---- a version 2 database (before organizations): its scopes table is built again --------------
db2=$work/acmon-v2.db
C2=(--config "$work/acmon-v2.toml")
if ! out=$(sqlite3 -batch "$db2" <"$here/../fixtures/schema-v2.sql" 2>&1); then
  bad "the version 2 fixture loads: $out"
fi
acmon_config "$work/acmon-v2.toml" --database "$db2" --listen 127.0.0.1:0 --account mig --key-id LTAImig --secret-file "$work/secret" --smc
refused_as_older "$db2" 2 "${C2[@]}"
expect "acmon migrate upgrades it" 0 "schema version $current \\(upgraded from 2\\)" -- "$ACMON" migrate "${C2[@]}"
expect "acmon alerts reads the version 2 database's firing alert" 0 'code_expiring.*at-old-2' -- "$ACMON" alerts "${C2[@]}"
check "... migrated to version $current" "[ \"\$(sql '$db2' 'PRAGMA user_version')\" = $current ]"
check "... every row kept (1 scope, 3 runs, 3 codes, 5 history rows, 1 alert, 1 notification)" \
  "[ \"\$(sql '$db2' 'SELECT (SELECT count(*) FROM scopes) || \",\" || (SELECT count(*) FROM runs) || \",\" || (SELECT count(*) FROM codes) || \",\" || (SELECT count(*) FROM history) || \",\" || (SELECT count(*) FROM alerts) || \",\" || (SELECT count(*) FROM notifications)')\" = 1,3,3,5,1,1 ]"
check "... no row refers to nothing, and integrity_check passes" \
  "[ -z \"\$(sql '$db2' 'PRAGMA foreign_key_check')\" ] && [ \"\$(sql '$db2' 'PRAGMA integrity_check')\" = ok ]"
expect "a sync on it continues the old scope" 0 'mig-smc: ok, 3 codes \(1 new, 1 changed, 0 deleted\)' \
  -- "$ACMON" sync --no-notify "${C2[@]}"
check "... in the same scope row (id 1, no member)" "[ \"\$(sql '$db2' \"SELECT group_concat(id || ':' || member) FROM scopes\")\" = '1:' ]"

# ---- a version 3 database (before the index of codes by id went) --------------------------------
db3=$work/acmon-v3.db
C3=(--config "$work/acmon-v3.toml")
if ! out=$(sqlite3 -batch "$db3" <"$here/../fixtures/schema-v3.sql" 2>&1); then
  bad "the version 3 fixture loads: $out"
fi
acmon_config "$work/acmon-v3.toml" --database "$db3" --listen 127.0.0.1:0 --account mig --key-id LTAImig --secret-file "$work/secret" --smc
refused_as_older "$db3" 3 "${C3[@]}"
expect "acmon migrate upgrades it" 0 "schema version $current \\(upgraded from 3\\)" -- "$ACMON" migrate "${C3[@]}"
expect "acmon alerts reads the version 3 database's firing alert" 0 'code_expiring.*at-old-2' -- "$ACMON" alerts "${C3[@]}"
check "... migrated to version $current" "[ \"\$(sql '$db3' 'PRAGMA user_version')\" = $current ]"
check "... every row kept (2 scopes, 3 runs, 3 codes, 5 history rows, 1 alert, 1 notification, 1 member)" \
  "[ \"\$(sql '$db3' 'SELECT (SELECT count(*) FROM scopes) || \",\" || (SELECT count(*) FROM runs) || \",\" || (SELECT count(*) FROM codes) || \",\" || (SELECT count(*) FROM history) || \",\" || (SELECT count(*) FROM alerts) || \",\" || (SELECT count(*) FROM notifications) || \",\" || (SELECT count(*) FROM members)')\" = 2,3,3,5,1,1,1 ]"
check "... without the index of codes by id, every other index kept" \
  "[ \"\$(sql '$db3' \"SELECT group_concat(name) FROM (SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL ORDER BY name)\")\" = alerts_ended,alerts_firing,history_at,history_code,runs_finished,runs_scope ]"
check "... no row refers to nothing, and integrity_check passes" \
  "[ -z \"\$(sql '$db3' 'PRAGMA foreign_key_check')\" ] && [ \"\$(sql '$db3' 'PRAGMA integrity_check')\" = ok ]"
expect "a sync on it continues the old scope" 0 'mig-smc: ok, 3 codes \(1 new, 1 changed, 0 deleted\)' \
  -- "$ACMON" sync --no-notify "${C3[@]}"
expect "... and the history of a code goes on" 0 '.' -- "$ACMON" history at-old-1 --json "${C3[@]}"
got=$(json_eval 'console.log(d.map(e => e.event + ":" + e.detail).join(","))' <<<"$out")
check "... created, used +2, used +3 ($got)" "[ '$got' = 'created:,used:used +2,used:used +3' ]"

# ---- a version 4 database (before counting summaries kept their moment) ------------------------
db4=$work/acmon-v4.db
C4=(--config "$work/acmon-v4.toml")
if ! out=$(sqlite3 -batch "$db4" <"$here/../fixtures/schema-v4.sql" 2>&1); then
  bad "the version 4 fixture loads: $out"
fi
acmon_config "$work/acmon-v4.toml" --database "$db4" --listen 127.0.0.1:0 --account mig --key-id LTAImig --secret-file "$work/secret" --smc
refused_as_older "$db4" 4 "${C4[@]}"
expect "acmon migrate upgrades it" 0 "schema version $current \\(upgraded from 4\\)" -- "$ACMON" migrate "${C4[@]}"
expect "acmon alerts reads the version 4 database's firing alert, its summary as written" 0 \
  'code_expiring.*at-old-2.*expires in 5d' -- "$ACMON" alerts "${C4[@]}"
check "... migrated to version $current" "[ \"\$(sql '$db4' 'PRAGMA user_version')\" = $current ]"
check "... the alerts gain span_at, empty for the old alert" \
  "[ \"\$(sql '$db4' \"SELECT count(*) || ',' || count(span_at) FROM alerts\")\" = 1,0 ]"
check "... every row kept (2 scopes, 3 runs, 3 codes, 5 history rows, 1 alert, 1 notification, 1 member)" \
  "[ \"\$(sql '$db4' 'SELECT (SELECT count(*) FROM scopes) || \",\" || (SELECT count(*) FROM runs) || \",\" || (SELECT count(*) FROM codes) || \",\" || (SELECT count(*) FROM history) || \",\" || (SELECT count(*) FROM alerts) || \",\" || (SELECT count(*) FROM notifications) || \",\" || (SELECT count(*) FROM members)')\" = 2,3,3,5,1,1,1 ]"
check "... no row refers to nothing, and integrity_check passes" \
  "[ -z \"\$(sql '$db4' 'PRAGMA foreign_key_check')\" ] && [ \"\$(sql '$db4' 'PRAGMA integrity_check')\" = ok ]"
expect "a sync on it continues the old scope" 0 'mig-smc: ok, 3 codes \(1 new, 1 changed, 0 deleted\)' \
  -- "$ACMON" sync --no-notify "${C4[@]}"
expect "... the old alert resolved (its code expired), its summary kept as written" 0 '.' \
  -- "$ACMON" alerts --all --json "${C4[@]}"
got=$(json_eval 'console.log(d.filter(a => a.id === "at-old-2").map(a => a.summary + "|" + (a.ends_at !== null)).join(","))' <<<"$out")
check "... ($got)" "[ '$got' = 'expires in 5d|true' ]"

# ---- a version 5 database (before the fingerprints were keyed) ---------------------------------
db5=$work/acmon-v5.db
C5=(--config "$work/acmon-v5.toml")
if ! out=$(sqlite3 -batch "$db5" <"$here/../fixtures/schema-v5.sql" 2>&1); then
  bad "the version 5 fixture loads: $out"
fi
old_fps=$(sql "$db5" 'SELECT group_concat(fingerprint) FROM (SELECT fingerprint FROM codes ORDER BY code_id)')
acmon_config "$work/acmon-v5.toml" --database "$db5" --listen 127.0.0.1:0 --account mig --key-id LTAImig --secret-file "$work/secret" --smc
refused_as_older "$db5" 5 "${C5[@]}"
expect "acmon migrate upgrades it" 0 "schema version $current \\(upgraded from 5\\)" -- "$ACMON" migrate "${C5[@]}"
expect "acmon alerts reads the version 5 database's firing alert, its span counted" 0 \
  'code_expiring.*at-old-2.*expires in [0-9]+d' -- "$ACMON" alerts "${C5[@]}"
check "... migrated to version $current" "[ \"\$(sql '$db5' 'PRAGMA user_version')\" = $current ]"
check "... with a fingerprint key of 32 hex digits in meta" \
  "sql '$db5' \"SELECT value FROM meta WHERE name='fingerprint_key'\" | grep -Eqx '[0-9a-f]{32}'"
check "... and no code keeps the fingerprint version 5 gave it ($old_fps)" \
  "[ \"\$(sql '$db5' \"SELECT count(*) FROM codes WHERE ',$old_fps,' LIKE '%,' || fingerprint || ',%'\")\" = 0 ]"
check "... every row kept (2 scopes, 3 runs, 3 codes, 5 history rows, 1 alert, 1 notification, 1 member)" \
  "[ \"\$(sql '$db5' 'SELECT (SELECT count(*) FROM scopes) || \",\" || (SELECT count(*) FROM runs) || \",\" || (SELECT count(*) FROM codes) || \",\" || (SELECT count(*) FROM history) || \",\" || (SELECT count(*) FROM alerts) || \",\" || (SELECT count(*) FROM notifications) || \",\" || (SELECT count(*) FROM members)')\" = 2,3,3,5,1,1,1 ]"
check "... no row refers to nothing, and integrity_check passes" \
  "[ -z \"\$(sql '$db5' 'PRAGMA foreign_key_check')\" ] && [ \"\$(sql '$db5' 'PRAGMA integrity_check')\" = ok ]"
expect "a sync on it continues the old scope: the unchanged code unchanged, the used one used" 0 \
  'mig-smc: ok, 3 codes \(1 new, 1 changed, 0 deleted\)' -- "$ACMON" sync --no-notify "${C5[@]}"
expect "... and the history of a code goes on" 0 '.' -- "$ACMON" history at-old-1 --json "${C5[@]}"
got=$(json_eval 'console.log(d.map(e => e.event + ":" + e.detail).join(","))' <<<"$out")
check "... created, used +2, used +3 ($got)" "[ '$got' = 'created:,used:used +2,used:used +3' ]"

# ---- a version 6 database (before receivers were keyed by a hash of their URL) -----------------
db6=$work/acmon-v6.db
C6=(--config "$work/acmon-v6.toml")
if ! out=$(sqlite3 -batch "$db6" <"$here/../fixtures/schema-v6.sql" 2>&1); then
  bad "the version 6 fixture loads: $out"
fi
# Each receiver's key: the SHA-256 of what version 6 stored for it ("TYPE:URL").
want_keys=$(sql "$db6" 'SELECT DISTINCT target FROM notifications' | while IFS= read -r t; do
  printf '%s' "$t" | sha256sum | cut -d' ' -f1
done | sort | paste -sd,)
acmon_config "$work/acmon-v6.toml" --database "$db6" --listen 127.0.0.1:0 --account mig --key-id LTAImig --secret-file "$work/secret" --smc
refused_as_older "$db6" 6 "${C6[@]}"
expect "acmon migrate upgrades it" 0 "schema version $current \\(upgraded from 6\\)" -- "$ACMON" migrate "${C6[@]}"
expect "acmon alerts reads the version 6 database's firing alert" 0 'code_expiring.*at-old-2' -- "$ACMON" alerts "${C6[@]}"
check "... migrated to version $current" "[ \"\$(sql '$db6' 'PRAGMA user_version')\" = $current ]"
check "... every receiver keyed by the SHA-256 of its stored URL ($want_keys)" \
  "[ \"\$(sql '$db6' 'SELECT group_concat(target) FROM (SELECT DISTINCT target FROM notifications ORDER BY target)')\" = '$want_keys' ]"
check "... what each was told kept" \
  "[ \"\$(sql '$db6' \"SELECT group_concat(alert_id || ':' || firing_sent_at || ':' || ifnull(resolved_sent_at, '-')) FROM notifications\")\" = '1:1767225600:-,1:1767225600:-' ]"
check "... and no URL or secret of a receiver left in the file" "! grep -aqE 'mig-s3cret|dingtalk' '$db6'* "
check "... every row kept (2 scopes, 3 runs, 3 codes, 5 history rows, 1 alert, 2 notifications, 1 member)" \
  "[ \"\$(sql '$db6' 'SELECT (SELECT count(*) FROM scopes) || \",\" || (SELECT count(*) FROM runs) || \",\" || (SELECT count(*) FROM codes) || \",\" || (SELECT count(*) FROM history) || \",\" || (SELECT count(*) FROM alerts) || \",\" || (SELECT count(*) FROM notifications) || \",\" || (SELECT count(*) FROM members)')\" = 2,3,3,5,1,2,1 ]"
check "... no row refers to nothing, and integrity_check passes" \
  "[ -z \"\$(sql '$db6' 'PRAGMA foreign_key_check')\" ] && [ \"\$(sql '$db6' 'PRAGMA integrity_check')\" = ok ]"
expect "a sync on it continues the old scope: the unchanged code unchanged, the used one used" 0 \
  'mig-smc: ok, 3 codes \(1 new, 1 changed, 0 deleted\)' -- "$ACMON" sync --no-notify "${C6[@]}"

# ---- a database from a newer acmon -----------------------------------------------------------
newer=$((current + 1))
sql "$db" "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA user_version=$newer" >/dev/null
before=$(sql "$db" '.dump' | md5sum)
msg="schema version $newer is newer than this acmon knows \($current\); refusing to touch it"
expect "acmon codes refuses a database of schema $newer" 1 "$msg" -- "$ACMON" codes "${C[@]}"
expect "acmon alerts refuses it" 1 "$msg" -- "$ACMON" alerts "${C[@]}"
expect "acmon history refuses it" 1 "$msg" -- "$ACMON" history at-old-1 "${C[@]}"
expect "acmon sync refuses it" 1 "$msg" -- "$ACMON" sync --no-notify "${C[@]}"
expect "acmon migrate refuses it" 1 "$msg" -- "$ACMON" migrate "${C[@]}"
expect "acmon run refuses it" 1 "$msg" -- timeout -k 2 20 "$ACMON" run "${C[@]}"
check "... and nothing touched it (still schema $newer, same rows)" \
  "[ \"\$(sql '$db' 'PRAGMA user_version')\" = $newer ] && [ \"\$(sql '$db' '.dump' | md5sum)\" = '$before' ]"

finish
