#!/usr/bin/env bash
# [daemon] web_config (exporter-toolkit's web configuration) with real clients: certificates made by
# openssl here, curl over HTTPS with and without basic auth and client certificates, reloads of
# passwords and certificates, unusable files (exit 78), and a real Prometheus scraping over TLS.
#   web_config_test.sh ACMON ACMON_SIM
set -uo pipefail
ACMON=$1
SIM=$2
work=$(mktemp -d)
. "$(dirname "$0")/../lib.sh"
acmon_pid=""
prom_pid=""
trap '[ -n "$acmon_pid" ] && kill -9 "$acmon_pid" 2>/dev/null; [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null
      [ -n "${slow_pid:-}" ] && kill "$slow_pid" 2>/dev/null
      [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
mport=$(free_port)
M="https://127.0.0.1:$mport"

# bcrypt (cost 10) of the test passwords "scrape-secret" and "changed-secret".
hash_scrape='$2b$10$AKGIQze39FcEJ7id7V.dv.d94D.khWUsfmqXthW/A8hgoTd.lFdke'
hash_changed='$2b$10$6HUGcLO./i27aDmfuMMTYugXGxNtJHS8H8fldBxDnhlrw9oO71Q2q'
# "slow-secret" at cost 16: a few seconds of bcrypt.
hash_slow='$2b$16$ylQV0Ijv4arxa8lWopHp2e4/tkMXsMtRrkxC1AgGB2eUQP7MN.5Cu'

# ---- certificates: a CA, the server's, a client's; another CA and a client of it ----
cert() {  # cert NAME CA EXTENSIONS: NAME.key and NAME.crt signed by CA (CA.key, CA.crt)
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/$1.key" \
    -out "$work/$1.csr" -subj "/CN=$1" 2>/dev/null &&
    openssl x509 -req -in "$work/$1.csr" -CA "$work/$2.crt" -CAkey "$work/$2.key" -CAcreateserial \
      -out "$work/$1.crt" -days 2 -extfile <(printf '%s\n' "$3") 2>/dev/null
}
for ca in ca other-ca; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/$ca.key" \
    -out "$work/$ca.crt" -days 2 -subj "/CN=acmon test $ca" 2>/dev/null
done
server_ext='subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth'
cert server ca "$server_ext"
cert server2 other-ca "$server_ext"
cert client ca 'extendedKeyUsage=clientAuth'
cert stranger other-ca 'extendedKeyUsage=clientAuth'
check "openssl made the certificates" "[ -s '$work/server.crt' ] && [ -s '$work/server2.crt' ] && [ -s '$work/client.crt' ] && [ -s '$work/stranger.crt' ]"

server=server
web() {  # web [EXTRA TLS LINES] [USERS]: writes web.yml for $server.crt (names relative to its folder)
  {
    printf 'tls_server_config:\n  cert_file: %s.crt\n  key_file: %s.key\n' "$server" "$server"
    [ -n "${1:-}" ] && printf '%s\n' "$1"
    printf 'basic_auth_users:\n%s\n' "${2:-  prometheus: $hash_scrape}"
  } >"$work/web.yml"
}
web
printf 'run-secret\n' >"$work/secret"
chmod 600 "$work/secret"
start_sim --generate '{"account":"LTAIweb","secret":"run-secret","smc":20,"seed":5}'
acmon_config "$work/acmon.toml" --database "$work/acmon.db" --listen "127.0.0.1:$mport" \
  --key-id LTAIweb --secret-file "$work/secret" --interval 10s --smc
sed -i "s|^\[daemon\]$|[daemon]\nweb_config = \"$work/web.yml\"|" "$work/acmon.toml"

expect "acmon check-config checks the web configuration" 0 "web.yml: ok \(TLS, 1 basic auth users\)" -- \
  "$ACMON" check-config --config "$work/acmon.toml"

# code PATH [curl options]: the HTTP status (000 when there is none: no connection, no TLS).
code() { local p=$1; shift; curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$M$p"; }
auth=(--cacert "$work/ca.crt" -u prometheus:scrape-secret)

"$ACMON" run --config "$work/acmon.toml" >>"$work/acmon.log" 2>&1 &
acmon_pid=$!
within 10 "acmon run serves HTTPS with basic auth" "[ \"\$(code /healthz ${auth[*]})\" = 200 ]" || tail -5 "$work/acmon.log"
within 20 "/readyz becomes 200 over HTTPS" "[ \"\$(code /readyz ${auth[*]})\" = 200 ]"

for p in /metrics /healthz /readyz /; do
  c=$(code "$p" --cacert "$work/ca.crt")
  check "$p without credentials: 401 ($c)" "[ '$c' = 401 ]"
  c=$(code "$p" --cacert "$work/ca.crt" -u prometheus:wrong-secret)
  check "$p with a wrong password: 401 ($c)" "[ '$c' = 401 ]"
  c=$(code "$p" --cacert "$work/ca.crt" -u grafana:scrape-secret)
  check "$p with an unknown user: 401 ($c)" "[ '$c' = 401 ]"
  c=$(code "$p" "${auth[@]}")
  check "$p with the right password: 200 ($c)" "[ '$c' = 200 ]"
done
c=$(code /nowhere --cacert "$work/ca.crt")
check "an unknown path without credentials is 401, not 404 ($c)" "[ '$c' = 401 ]"
headers=$(curl -s -D - -o /dev/null --cacert "$work/ca.crt" "$M/metrics")
check "a 401 asks for basic auth (WWW-Authenticate: Basic)" "grep -qi '^WWW-Authenticate: Basic' <<<\"\$headers\""
curl -s "${auth[@]}" "$M/metrics" >"$work/metrics.txt"
check "/metrics over HTTPS has the code series" "grep -q '^acmon_code_info{product=\"smc\"' '$work/metrics.txt'"
check "the log holds no password or hash" "! grep -qE 'scrape-secret|wrong-secret|\\\$2b\\\$' '$work/acmon.log'"

c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -u prometheus:scrape-secret "http://127.0.0.1:$mport/healthz")
check "plain HTTP is refused (status $c)" "[ '$c' = 000 ]"
curl -s -o /dev/null --max-time 5 -u prometheus:scrape-secret "$M/healthz"
status=$?
check "the server's certificate is the one made here: without the CA curl refuses it (exit $status)" "[ $status = 60 ]"
c=$(code /healthz "${auth[@]}" --tls-max 1.2)
check "TLS 1.2 is accepted with min_version TLS12 by default ($c)" "[ '$c' = 200 ]"
# The client is allowed TLS 1.1 (security level 0), so that a refusal is the server's.
old_tls=(--tlsv1.1 --tls-max 1.1 --ciphers 'DEFAULT:@SECLEVEL=0')
c=$(code /healthz "${auth[@]}" "${old_tls[@]}")
check "TLS 1.1 is refused with min_version TLS12 ($c)" "[ '$c' = 000 ]"
web '  min_version: TLS10'
kill -HUP "$acmon_pid"
within 10 "... and accepted from the same client after a reload to min_version TLS10" \
  "[ \"\$(code /healthz ${auth[*]} ${old_tls[*]})\" = 200 ]"

# ---- slow clients over TLS: they never delay a scrape, are closed at the request deadline ----
# slow PORT CA IDLE TRICKLING STATUS_FILE: IDLE TCP connections that never start TLS, TRICKLING
# TLS connections sending a request's headers a byte every 100 ms; "connected closed" in the file.
cat >"$work/slow.js" <<'JS'
const net = require('net'), tls = require('tls'), fs = require('fs');
const [port, ca, idle, trickling, status] = process.argv.slice(2);
let connected = 0, closed = 0;
const watch = (s) => { s.on('close', () => closed++); s.on('error', () => {}); };
// One every 5 ms: all at once would overflow the listen backlog (128), and a connection the kernel
// dropped there looks open to its client forever (no RST), though the server never had it.
let n = 0;
const later = (f) => setTimeout(f, 5 * n++);
for (let i = 0; i < +idle; i++) later(() => watch(net.connect(+port, '127.0.0.1', () => connected++)));
for (let i = 0; i < +trickling; i++) {
  later(() => {
    const s = tls.connect({ port: +port, host: '127.0.0.1', ca: fs.readFileSync(ca) }, () => {
      connected++;
      s.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
      const t = setInterval(() => s.write('a'), 100);
      s.on('close', () => clearInterval(t));
    });
    watch(s);
  });
}
setInterval(() => fs.writeFileSync(status, `${connected} ${closed}\n`), 100);
setTimeout(() => process.exit(0), 40000);
JS
slow_pid=""
slow() { node "$work/slow.js" "$@" & slow_pid=$!; }
slow "$mport" "$work/ca.crt" 200 50 "$work/slow1"
within 10 "250 slow clients hold connections (200 idle TCP, 50 trickling TLS)" "[ \"\$(cut -d' ' -f1 '$work/slow1' 2>/dev/null)\" = 250 ]"
held=$(ss -Htn state established "( sport = :$mport )" | wc -l)
check "... $held of them on the server's side" "[ $held -ge 200 ]"
t0=$(date +%s%N)
c=$(code /metrics "${auth[@]}")
ms=$((($(date +%s%N) - t0) / 1000000))
check "... and a scrape over TLS is answered meanwhile ($c in $ms ms)" "[ '$c' = 200 ] && [ $ms -lt 1000 ]"
# Counted on the server's side: a connection the kernel dropped from a full listen backlog (a loaded
# machine) stays open for its client, never having reached acmon.
server_conns() { ss -Htn state established "( sport = :$mport )" | wc -l; }
within 25 "... the server closes all of them at the request deadline (10 s)" "[ \$(server_conns) = 0 ]" ||
  echo "     | connected, closed (client side): $(cat "$work/slow1"); open on the server: $(server_conns)"
within 5 "... and their clients see them closed (at least 240 of 250)" "[ \$(cut -d' ' -f2 '$work/slow1') -ge 240 ]"
kill "$slow_pid" 2>/dev/null
wait "$slow_pid" 2>/dev/null

# ---- reloads: min_version, users and passwords, a certificate; a broken file is refused ----
reload() {  # SIGHUP, then wait for the daemon's line saying it reloaded or refused
  local n
  n=$(grep -cE 'configuration reloaded|reload refused' "$work/acmon.log")
  kill -HUP "$acmon_pid"
  wait_for 10 "[ \$(grep -cE 'configuration reloaded|reload refused' '$work/acmon.log') -gt $n ]"
}
web '  min_version: TLS13'
reload
within 10 "after a reload to min_version TLS13, TLS 1.2 is refused" "[ \"\$(code /healthz ${auth[*]} --tls-max 1.2)\" = 000 ]"
c=$(code /healthz "${auth[@]}" --tlsv1.3)
check "... and TLS 1.3 accepted ($c)" "[ '$c' = 200 ]"

web '' "  prometheus: $hash_changed"
reload
within 10 "after a reload with a changed password, the old one is 401" "[ \"\$(code /metrics ${auth[*]})\" = 401 ]"
c=$(code /metrics --cacert "$work/ca.crt" -u prometheus:changed-secret)
check "... and the new one 200 ($c)" "[ '$c' = 200 ]"
auth=(--cacert "$work/ca.crt" -u prometheus:changed-secret)

# bcrypt runs off the event loops: a flood of wrong passwords (each about 50 ms of bcrypt, one at a
# time) does not hold a scrape whose password was checked before.
flood=()
for i in $(seq 40); do
  curl -s -o /dev/null --max-time 20 --cacert "$work/ca.crt" -u "prometheus:wrong-$i" "$M/healthz" &
  flood+=($!)
done
sleep 0.3
t0=$(date +%s%N)
c=$(code /metrics "${auth[@]}")
ms=$((($(date +%s%N) - t0) / 1000000))
check "a flood of 40 wrong passwords does not hold a scrape with the right one ($c in $ms ms)" "[ '$c' = 200 ] && [ $ms -lt 1000 ]"
wait "${flood[@]}"

printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  unknown_thing: 1\n' >"$work/web.yml"
reload
within 10 "a reload with an unusable web configuration is refused, naming the file and key" \
  "grep -q \"reload refused.*$work/web.yml:4: tls_server_config.unknown_thing: unknown key\" '$work/acmon.log'"
c=$(code /metrics "${auth[@]}")
check "... and the running one is kept ($c)" "[ '$c' = 200 ]"

server=server2
web '' "  prometheus: $hash_changed"
reload
within 10 "after a reload with a new certificate, clients of its CA connect" \
  "[ \"\$(code /healthz --cacert '$work/other-ca.crt' -u prometheus:changed-secret)\" = 200 ]"
c=$(code /healthz "${auth[@]}")
check "... and the old CA no longer verifies the server ($c)" "[ '$c' = 000 ]"

# ---- client certificates: RequireAndVerifyClientCert ----
server=server
web "  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt" "  prometheus: $hash_changed"
reload
with_client=(--cert "$work/client.crt" --key "$work/client.key")
within 10 "RequireAndVerifyClientCert: a client with a certificate of client_ca_file gets 200" \
  "[ \"\$(code /metrics ${auth[*]} ${with_client[*]})\" = 200 ]"
c=$(code /metrics "${auth[@]}")
check "... one without a certificate is refused ($c)" "[ '$c' = 000 ] || [ '$c' = 403 ]"
c=$(code /metrics "${auth[@]}" --cert "$work/stranger.crt" --key "$work/stranger.key")
check "... one with a certificate of another CA is refused ($c)" "[ '$c' = 000 ] || [ '$c' = 403 ]"
c=$(code /metrics --cacert "$work/ca.crt" "${with_client[@]}")
check "... and a certificate does not replace the password ($c)" "[ '$c' = 401 ]"
# The other types: what a client without a certificate, with one of another CA and with one of
# client_ca_file get (000: refused in the handshake).
for row in "RequestClientCert 200 200 200" "RequireAnyClientCert 000 200 200" "VerifyClientCertIfGiven 200 000 200"; do
  read -r type none stranger client <<<"$row"
  web "  client_auth_type: $type
  client_ca_file: ca.crt" "  prometheus: $hash_changed"
  reload
  got="$(code /metrics "${auth[@]}") $(code /metrics "${auth[@]}" --cert "$work/stranger.crt" --key "$work/stranger.key")"
  got+=" $(code /metrics "${auth[@]}" "${with_client[@]}")"
  check "$type: no certificate, another CA's, client_ca_file's: $got" "[ '$got' = '$none $stranger $client' ]"
done
web "  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt" "  prometheus: $hash_changed"
reload

# ---- a real Prometheus scrapes acmon over TLS, with a client certificate and basic auth ----
if command -v prometheus >/dev/null; then
  pport=$(free_port)
  cat >"$work/prometheus.yml" <<CONF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: acmon
    scheme: https
    tls_config:
      ca_file: $work/ca.crt
      cert_file: $work/client.crt
      key_file: $work/client.key
    basic_auth:
      username: prometheus
      password: changed-secret
    static_configs:
      - targets: ["127.0.0.1:$mport"]
CONF
  prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$pport" >"$work/prometheus.log" 2>&1 &
  prom_pid=$!
  P="http://127.0.0.1:$pport"
  health() { curl -s "$P/api/v1/targets" | json_eval 'console.log(d.data.activeTargets.map(t=>t.health).join(","))'; }
  within 30 "Prometheus scrapes acmon over TLS with basic auth: the target is up" "[ \"\$(health 2>/dev/null)\" = up ]" ||
    { curl -s "$P/api/v1/targets"; tail -5 "$work/prometheus.log"; }
  n=$(curl -s "$P/api/v1/query" --data-urlencode 'query=count(acmon_code_info)' | json_eval 'console.log(d.data.result.length ? d.data.result[0].value[1] : 0)')
  check "... and acmon's series are queryable (count(acmon_code_info) = $n)" "[ '$n' = 20 ]"
  kill "$prom_pid" 2>/dev/null
  wait "$prom_pid" 2>/dev/null
  prom_pid=""
fi
# A stop: with slow clients connected and a long bcrypt run (cost 16) in progress.
web "  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt" "  prometheus: $hash_changed
  slow: $hash_slow"
reload
slow "$mport" "$work/ca.crt" 50 100 "$work/slow2"
within 10 "150 slow clients connected again" "[ \"\$(cut -d' ' -f1 '$work/slow2' 2>/dev/null)\" = 150 ]"
curl -s -o /dev/null --max-time 20 --cacert "$work/ca.crt" "${with_client[@]}" -u slow:wrong "$M/healthz" &
bcrypt_pid=$!
sleep 0.5
t0=$(date +%s%N)
kill "$acmon_pid"
wait "$acmon_pid" 2>/dev/null
ms=$((($(date +%s%N) - t0) / 1000000))
acmon_pid=""
check "SIGTERM stops acmon within 1.5 s with 150 slow clients (100 over TLS) and a cost-16 bcrypt run ($ms ms)" "[ $ms -lt 1500 ]"
wait "$bcrypt_pid"
kill "$slow_pid" 2>/dev/null
wait "$slow_pid" 2>/dev/null

# ---- unusable web configurations: check-config and run exit 78 naming the file ----
unusable() {  # unusable NAME PATTERN: with web.yml as it is
  expect "check-config: $1" 78 "$work/web.yml.*$2" -- "$ACMON" check-config --config "$work/acmon.toml"
  expect "run: $1" 78 "$work/web.yml.*$2" -- timeout -k 2 10 "$ACMON" run --config "$work/acmon.toml"
}
web '' "  prometheus: $hash_changed"
sed -i 's/server.crt/missing.crt/' "$work/web.yml"
unusable "a missing certificate" "tls_server_config.cert_file: cannot read $work/missing.crt"
printf 'basic_auth_users: {prometheus: "x"\n' >"$work/web.yml"
unusable "bad YAML" "not valid YAML"
printf 'basic_auth_users:\n  prometheus: %s\nbasic_auth: {}\n' "$hash_changed" >"$work/web.yml"
unusable "an unknown key" ":3: basic_auth: unknown key"
printf 'basic_auth_users:\n  prometheus: "$2b$10$tooshort"\n' >"$work/web.yml"
unusable "a bad bcrypt hash" ":2: basic_auth_users.prometheus: is not a bcrypt hash"
check "... whose message does not quote the hash" "! grep -q tooshort <<<\"\$out\""
web '' "  prometheus: $hash_changed"
cp "$work/client.key" "$work/server.key"
unusable "a key that is not the certificate's" "tls_server_config.key_file: is not the private key"
rm -f "$work/web.yml"
unusable "a missing file" "cannot read the web configuration"

finish
