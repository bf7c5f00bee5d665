#!/usr/bin/env bash
# The commands that only read (acmon codes, alerts, history) never create, migrate or write the
# database: a path that names no file is an error naming it, with nothing made there; a database
# whose file and directory the user may only read is listed, without -wal or -shm beside it and
# while a writer holds it open with changes still in its -wal; its bytes stay as they were. With
# the writer, only a run as root shows a reader that may not write the -shm (as another user, the
# -wal and -shm are the writer's, that same user's).
# (tests/cli/migration_test.sh: older and newer schemas are refused and left as they are.)
# As root, permission bits do not bite: the listings run as nobody (setpriv), the database's group
# made nobody's; as anyone else they run as that user, the file 0440 and its directory 0555.
#   readonly_test.sh ACMON
set -uo pipefail
ACMON=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
SIM=/nonexistent  # lib.sh wants it; no simulator is started
. "$here/../lib.sh"
writer_pid=""
trap 'exec 3>&- 2>/dev/null; [ -n "$writer_pid" ] && wait "$writer_pid" 2>/dev/null; chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

sql() { sqlite3 -batch "$1" "$2" 2>&1; }
# The database file's bytes and modification time.
fingerprint() { echo "$(md5sum <"$1") $(stat -c %Y.%y "$1")"; }
printf 'ro-secret\n' >"$work/secret"
chmod 600 "$work/secret"
port=9  # discard: no command here calls an API

# ---- a path that names no file --------------------------------------------------------------
missing=$work/typo/acmon.db
acmon_config "$work/missing.toml" --database "$missing" --account ro --key-id LTAIro --secret-file "$work/secret" --smc
typo=$work/acmon-typo.db
acmon_config "$work/typo.toml" --database "$typo" --account ro --key-id LTAIro --secret-file "$work/secret" --smc
for cmd in "codes" "alerts" "history at-1"; do
  # shellcheck disable=SC2086  # the command and its argument, split on purpose
  expect "acmon $cmd names the missing database and the setting" 1 \
    "database $missing: no such file .*\(daemon.database in $work/missing.toml\)" -- "$ACMON" $cmd --config "$work/missing.toml"
  # shellcheck disable=SC2086
  expect "acmon $cmd on a missing file in an existing folder" 1 "database $typo: no such file" \
    -- "$ACMON" $cmd --config "$work/typo.toml"
done
check "... and nothing is made: no file, no folder, no -wal, -shm or lock" \
  "[ ! -e '$work/typo' ] && [ -z \"\$(ls '$work' | grep acmon-typo)\" ]"
expect "acmon migrate does not make one either" 1 "database $typo: no such file" -- "$ACMON" migrate --config "$work/typo.toml"
check "... (still nothing there)" "[ -z \"\$(ls '$work' | grep acmon-typo)\" ]"

# ---- a database the user may only read --------------------------------------------------------
ro=$work/ro
mkdir "$ro"
db=$ro/acmon.db
if ! out=$(sqlite3 -batch "$db" <"$here/../fixtures/schema-v6.sql" 2>&1); then
  bad "the version 6 fixture loads: $out"
  finish
  exit
fi
acmon_config "$work/ro.toml" --database "$db" --account mig --key-id LTAImig --secret-file "$work/secret" --smc
expect "acmon migrate brings it to the current schema" 0 "$db: schema version 7 \(upgraded from 6\)" \
  -- "$ACMON" migrate --config "$work/ro.toml"
check "... and leaves no -wal or -shm behind (closed cleanly)" "[ ! -e '$db-wal' ] && [ ! -e '$db-shm' ]"
rm -f "$db.lock"
chmod 644 "$work/ro.toml"
chmod 755 "$work"
if [ "$(id -u)" = 0 ]; then
  nobody=65534
  chown "root:$nobody" "$db"
  chmod 640 "$db"
  chmod 755 "$ro"
  as_reader() { setpriv --reuid="$nobody" --regid="$nobody" --clear-groups -- "$@"; }
  # The build may live where nobody cannot reach (a clone in root's home): nobody runs a copy.
  install -m 755 "$ACMON" "$work/acmon-reader"
  reader="$work/acmon-reader"
  # Permission bits bite for nobody: it may read the file (by its group) and not write it or the folder.
  check "nobody may read the database and write neither it nor its folder" \
    "as_reader test -r '$db' && ! as_reader test -w '$db' && ! as_reader test -w '$ro'"
else
  chmod 440 "$db"
  chmod 555 "$ro"
  as_reader() { "$@"; }
  reader=$ACMON
fi
before=$(fingerprint "$db")

expect "acmon codes lists it with read permission only" 0 'at-old-1' -- as_reader "$reader" codes --json --config "$work/ro.toml"
expect "acmon alerts too" 0 'code_expiring.*at-old-2' -- as_reader "$reader" alerts --config "$work/ro.toml"
expect "acmon history too" 0 'used' -- as_reader "$reader" history at-old-1 --config "$work/ro.toml"
check "... the file unchanged (bytes and modification time), nothing made beside it" \
  "[ \"\$(fingerprint '$db')\" = '$before' ] && [ \"\$(ls '$ro')\" = acmon.db ]"

# A writer holds it open (as the daemon does), a change committed in its -wal and not yet in the
# file: the reader, through the -wal and -shm it may only read, sees that change.
[ "$(id -u)" = 0 ] || chmod u+w "$ro" "$db"
mkfifo "$work/writer"
sqlite3 -batch "$db" <"$work/writer" >"$work/writer.log" 2>&1 &
writer_pid=$!
exec 3>"$work/writer"
echo "PRAGMA wal_autocheckpoint=0; UPDATE codes SET name='renamed' WHERE code_id='at-old-1'; SELECT 'committed';" >&3
wait_for 10 "grep -q committed '$work/writer.log'"
check "the writer committed, its change in the -wal, the -wal and -shm readable by the reader" \
  "[ -s '$db-wal' ] && as_reader test -r '$db-shm' && [ \"\$(fingerprint '$db')\" = '$before' ]"
[ "$(id -u)" = 0 ] || chmod a-w "$ro" "$db"
expect "acmon codes beside the writer shows its committed change" 0 '"name": *"renamed"' \
  -- as_reader "$reader" codes --json --config "$work/ro.toml"
expect "acmon history beside the writer" 0 'created' -- as_reader "$reader" history at-old-1 --config "$work/ro.toml"
exec 3>&-
wait "$writer_pid"
writer_pid=""
check "... the schema still version 7" "[ \"\$(sql '$db' 'PRAGMA user_version')\" = 7 ]"

finish
