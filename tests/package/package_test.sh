#!/usr/bin/env bash
# The Debian package: built by CPack from this build, installed with dpkg -i, the installed binary
# and unit checked, then purged leaving nothing behind. Needs root (or sudo without a password);
# skips (77) without it, or when an acmon package is already installed here.
#   package_test.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
src=$1
build=$2
. "$src/tests/lib.sh"

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "skipped: installing a package needs root or sudo without a password"
  exit 77
fi
if dpkg-query -W -f='${Status}' acmon 2>/dev/null | grep -q 'ok installed'; then
  echo "skipped: an acmon package is already installed on this machine"
  exit 77
fi
work=$(mktemp -d)
trap '"${sudo[@]}" dpkg --purge acmon >/dev/null 2>&1; rm -rf "$work"' EXIT

# ---- build ------------------------------------------------------------------------------------
arch=$(dpkg --print-architecture)
version=$(sed -n 's/^project(acmon VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
deb=$build/acmon_${version}_${arch}.deb
rm -f "$deb"
(cd "$build" && cpack -G DEB >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; }
check "cpack builds acmon_${version}_${arch}.deb" "[ -f '$deb' ]"
[ -f "$deb" ] || finish

fields=$(dpkg-deb -f "$deb" Package Version Architecture Depends)
check "control: package acmon, version $version, architecture $arch" \
  "grep -q '^Package: acmon$' <<<\"\$fields\" && grep -q '^Version: $version$' <<<\"\$fields\" && grep -q '^Architecture: $arch$' <<<\"\$fields\""
# dpkg-shlibdeps: a dependency for each library acmon links, e.g. SQLite, libcurl, libmicrohttpd.
for lib in libsqlite3-0 libcurl4 libmicrohttpd12 libsystemd0 libgnutls30 libcrypt1 libyaml-cpp0.7; do
  check "Depends names $lib (from the linked shared libraries)" "grep -q '$lib' <<<\"\$fields\""
done
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/acmon ./usr/lib/systemd/system/acmon.service ./etc/acmon/acmon.toml \
  ./usr/share/acmon/acmon-rules.yml ./usr/share/acmon/acmon.json ./usr/share/acmon/examples/web-config.yml; do
  check "ships $f" "grep -qx '$f' <<<\"\$contents\""
done
check "/etc/acmon/acmon.toml is a conffile" "dpkg-deb -I '$deb' conffiles | grep -qx /etc/acmon/acmon.toml"

# ---- install ----------------------------------------------------------------------------------
before=$(find /usr /etc /var/lib -xdev 2>/dev/null | sort)
if "${sudo[@]}" dpkg -i "$deb" >"$work/install.log" 2>&1; then ok "dpkg -i installs it"; else bad "dpkg -i: $(tail -5 "$work/install.log")"; fi
check "dpkg says it is installed" "dpkg-query -W -f='\${Status}' acmon | grep -q 'install ok installed'"
out=$(/usr/bin/acmon --version 2>&1)
check "the installed acmon --version prints $version" "grep -q '$version' <<<\"\$out\""
if out=$(systemd-analyze verify /usr/lib/systemd/system/acmon.service 2>&1); then
  ok "systemd-analyze verify on the installed unit"
else
  bad "systemd-analyze verify: $out"
fi
# The shipped configuration parses; what it lacks is only the example accounts' credentials.
out=$(/usr/bin/acmon check-config --config /etc/acmon/acmon.toml 2>&1)
status=$?
check "check-config on the shipped configuration: only the example credentials are missing (status $status)" \
  "[ $status -eq 78 ] && [ -z \"\$(grep -v \"accounts: account '[a-z]*': \\(secret file\\|credentials\\)\" <<<\"\$out\")\" ]"

# An operator's edit of the conffile survives a reinstall.
echo "# edited by the operator" | "${sudo[@]}" tee -a /etc/acmon/acmon.toml >/dev/null
"${sudo[@]}" dpkg -i --force-confold "$deb" >"$work/reinstall.log" 2>&1
check "a reinstall keeps the operator's edit of /etc/acmon/acmon.toml" "grep -q 'edited by the operator' /etc/acmon/acmon.toml"

# What the service makes when it runs (DynamicUser=yes: the state under /var/lib/private, a link
# at /var/lib/acmon): purge removes it too.
"${sudo[@]}" mkdir -p /var/lib/private/acmon
"${sudo[@]}" touch /var/lib/private/acmon/acmon.db
"${sudo[@]}" ln -sfn private/acmon /var/lib/acmon

# ---- purge ------------------------------------------------------------------------------------
if "${sudo[@]}" dpkg --purge acmon >"$work/purge.log" 2>&1; then ok "dpkg --purge removes it"; else bad "dpkg --purge: $(tail -5 "$work/purge.log")"; fi
after=$(find /usr /etc /var/lib -xdev 2>/dev/null | sort)
left=$(comm -13 <(echo "$before") <(echo "$after") | grep -v '^/var/lib/dpkg/' | grep -i acmon || true)
check "nothing of acmon is left behind" "[ -z \"\$left\" ]"
[ -n "$left" ] && echo "$left" | head
check "no acmon binary, unit or configuration remains" \
  "[ ! -e /usr/bin/acmon ] && [ ! -e /usr/lib/systemd/system/acmon.service ] && [ ! -e /etc/acmon ] && [ ! -e /usr/share/acmon ]"

finish
