#!/usr/bin/env bash
# GET / in a real browser: headless Chromium loads the status page from a running acmon (fed by
# the simulator, one collector failing) and the DOM must show the expected codes, collectors,
# error and alerts; a hostile code name stays text. Screenshots (1280×900 and a phone) are kept in
# BUILD_DIR/test-artifacts/.
#   status_page_test.sh ACMON ACMON_SIM ARTIFACT_DIR
set -uo pipefail
ACMON=$1
SIM=$2
artifacts=$3
work=$(mktemp -d)
. "$(dirname "$0")/../lib.sh"
pids=()
trap 'for p in "${pids[@]}" $sim_pid; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "skipped: no chromium (scripts/deps installs it)"
  exit 77
fi
mkdir -p "$artifacts"

start_sim --generate '{"account":"LTAIpage","secret":"page-secret","smc":40,"ecs":{"regions":["cn-hangzhou"],"per_region":40},"polardb":{"orders":["2233000000001"],"per_order":20},"seed":5}'
printf 'page-secret\n' >"$work/secret"
chmod 600 "$work/secret"
mport=$(free_port)
# A second polardb order the simulator does not know: that scope fails with the API's error.
acmon_config "$work/acmon.toml" --database "$work/acmon.db" --listen "127.0.0.1:$mport" --account page \
  --key-id LTAIpage --secret-file "$work/secret" --interval 1h \
  --smc --ecs '"cn-hangzhou"' --polardb '"2233000000001", "2233999999999"'
# A name that would be markup if it were not escaped, on a code that expires in two minutes (so it
# is among the soonest to expire).
created=$(date -u -d "@$(($(date +%s) - 90 * 86400 + 120))" +%Y-%m-%dT%H:%M:%SZ)
curl -s -X PATCH "http://127.0.0.1:$port/_sim/codes/smc/at-gen00000001" \
  -d "{\"CreationTime\":\"$created\",\"TimeToLiveInDays\":\"90\",\"Name\":\"<script>document.title='owned'</script><b id=\\\"injected\\\">x</b>\"}" >/dev/null
"$ACMON" run --config "$work/acmon.toml" >"$work/acmon.log" 2>&1 &
pids+=($!)
U="http://127.0.0.1:$mport"
wait_for 30 "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$U/readyz')\" = 200 ]" || bad "acmon did not become ready"

headers=$(curl -s -D - -o /dev/null "$U/")
check "GET / answers HTML with a Content-Security-Policy that allows no script" \
  "grep -qi '^content-type: text/html' <<<\"\$headers\" && grep -qi \"^content-security-policy: default-src 'none'\" <<<\"\$headers\""

chrome() { "$browser" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --no-first-run "$@" 2>>"$work/chromium.log"; }
chrome --virtual-time-budget=3000 --dump-dom "$U/" >"$work/dom.html"
check "Chromium loads the page" "grep -q '<h1>acmon</h1>' '$work/dom.html'"

# What the page must show, from acmon's own view of the store.
"$ACMON" codes --json --config "$work/acmon.toml" >"$work/codes.json"
soonest=$(json_eval 'const a = d.filter(c => c.state === "active" && c.expires_at).sort((x, y) => x.expires_at.localeCompare(y.expires_at)); console.log(a[0].id)' <"$work/codes.json")
# The most used: every code at the highest ratio (ties may come in any order).
most=$(json_eval 'const a = d.filter(c => ["active", "exhausted"].includes(c.state) && c.limit > 0 && c.registered !== null); const top = Math.max(...a.map(c => c.registered / c.limit)); console.log(a.filter(c => c.registered / c.limit === top).map(c => c.id).join(" "))' <"$work/codes.json")
total=$(json_eval 'console.log(d.filter(c => c.state !== "deleted").length)' <"$work/codes.json")
# The DOM as the browser built it, one section at a time.
section() { perl -0ne 'print $1 if /(<section id="\Q'"$1"'\E".*?<\/section>)/s' "$work/dom.html"; }
check "the soonest-expiring code ($soonest) is the first row of 'Expiring soonest'" \
  "section expiring | grep -o 'data-code=\"[^\"]*\"' | head -1 | grep -q '\"$soonest\"'"
first_used=$(section used | grep -o 'data-code="[^"]*"' | head -1 | cut -d'"' -f2)
check "the most used code (of: $most) is the first row of 'Most used', with a bar" \
  "[ -n '$first_used' ] && grep -qw -- '$first_used' <<<'$most' && section used | grep -q '<meter'"
check "the tile counts the $total codes watched" "grep -q 'id=\"codes\"><b>$total</b>' '$work/dom.html'"
for c in page-smc page-ecs page-polardb; do
  check "collector $c is listed" "section collectors | grep -q 'data-collector=\"$c\"'"
done
check "the failing scope shows 'failing' and the API's error code" \
  "section collectors | grep -q 'badge failing' && section collectors | grep -q 'InvalidAliyunOrderId.NotFound'"
check "active alerts are listed (collector_failing among them once it has failed)" \
  "section alerts | grep -q 'data-rule=\"code_'"
check "links to /metrics, /healthz and /readyz" \
  "grep -q 'href=\"/metrics\"' '$work/dom.html' && grep -q 'href=\"/healthz\"' '$work/dom.html' && grep -q 'href=\"/readyz\"' '$work/dom.html'"
check "the code with a hostile name is listed among the soonest to expire" \
  "section expiring | grep -q 'data-code=\"at-gen00000001\"'"
check "a hostile code name is text: no element of it in the DOM, the title untouched" \
  "! grep -q '<b id=\"injected\">' '$work/dom.html' && grep -q '&lt;b id=\"injected\"&gt;x&lt;/b&gt;' '$work/dom.html' && grep -q '<title>acmon status</title>' '$work/dom.html'"
check "the page has no script element at all" "! grep -qi '<script' '$work/dom.html'"

# Screenshots, as a person sees it: a laptop and a phone.
chrome --window-size=1280,900 --screenshot="$artifacts/status-page.png" "$U/" >/dev/null
chrome --window-size=390,844 --screenshot="$artifacts/status-page-phone.png" "$U/" >/dev/null
check "screenshots kept in $artifacts (1280×900 and 390×844)" \
  "[ \$(stat -c %s '$artifacts/status-page.png' 2>/dev/null || echo 0) -gt 20000 ] && [ \$(stat -c %s '$artifacts/status-page-phone.png' 2>/dev/null || echo 0) -gt 10000 ]"
finish
