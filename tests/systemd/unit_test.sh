#!/usr/bin/env bash
# systemd/acmon.service: it verifies, it asks for what SPEC.md says, and its exposure is 2.0 or lower.
#   unit_test.sh SOURCE_DIR ACMON_BINARY
set -uo pipefail
src=$1
acmon=$2
unit=$src/systemd/acmon.service
work=$(mktemp -d)
. "$(dirname "$0")/../lib.sh"
trap 'rm -rf "$work"' EXIT

# verify checks that ExecStart= exists: point it at the built binary.
sed "s|/usr/bin/acmon|$acmon|g" "$unit" >"$work/acmon.service"
if out=$(systemd-analyze verify "$work/acmon.service" 2>&1); then ok "systemd-analyze verify"; else bad "systemd-analyze verify: $out"; fi

for want in '^Type=notify$' '^WatchdogSec=' '^ExecReload=.*kill -HUP \$MAINPID' '^DynamicUser=yes$' '^StateDirectory=acmon$' \
  '^ConfigurationDirectory=acmon$' '^LoadCredential=' '^RestartPreventExitStatus=78$' '^ProtectSystem=strict$'; do
  grep -qE "$want" "$unit" && ok "unit has $want" || bad "unit lacks $want"
done

security=$(systemd-analyze security --offline=true "$work/acmon.service" 2>&1)
level=$(sed -n 's/.*Overall exposure level for acmon.service: \([0-9.]*\).*/\1/p' <<<"$security")
if [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
  ok "exposure level $level (at most 2.0)"
else
  bad "exposure level '$level' (must be at most 2.0)"
  tail -5 <<<"$security"
fi

finish
