# Shared by the shell test suites and bench/daemon_bench.sh; source it after setting $work
# (a scratch folder) and $SIM (the acmon-sim binary).
passed=0
failed=0
sim_pid=""

ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
# expect NAME EXPECTED_STATUS PATTERN -- command...: the exit status, and an extended regex in
# stdout+stderr. The output stays in $out for further checks.
expect() {
  local name=$1 want=$2 pattern=$3
  shift 4
  local status
  out=$("$@" 2>&1)
  status=$?
  if [ "$status" -eq "$want" ] && grep -qE -- "$pattern" <<<"$out"; then
    ok "$name"
  else
    bad "$name (status $status, wanted $want; pattern '$pattern')"
    sed 's/^/     | /' <<<"$out" | head -20
  fi
}
# eventually NAME COND: like check, but COND may take up to 10 s to become true.
eventually() {
  for _ in $(seq 200); do eval "$2" && { ok "$1"; return; }; sleep 0.05; done
  bad "$1"
}
# within SECONDS NAME CONDITION: ok as soon as CONDITION holds, bad if it never does within SECONDS.
within() {
  local end=$(($(date +%s) + $1))
  while [ "$(date +%s)" -lt "$end" ]; do eval "$3" && { ok "$2"; return; }; sleep 0.5; done
  bad "$2"
  return 1
}
# The closing line CTest and people read; the suite's exit status.
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
json_eval() { node -e "const d=JSON.parse(require('fs').readFileSync(0,'utf8')); $1"; }
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

# start_sim ARGS...: stops the simulator this script started last, starts acmon-sim with ARGS,
# waits until it listens; sets $sim_pid and $port.
start_sim() {
  if [ -n "$sim_pid" ]; then
    kill "$sim_pid" 2>/dev/null
    wait "$sim_pid" 2>/dev/null
  fi
  rm -f "$work/port"
  "$SIM" --port-file "$work/port" "$@" >>"$work/sim.log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 600); do [ -s "$work/port" ] && break; sleep 0.05; done
  port=$(cat "$work/port" 2>/dev/null)
  # One request answered before the tests' concurrent ones: it proves the simulator serves, and
  # under ThreadSanitizer it keeps cpp-httplib's lazy set-up on first use (in the uninstrumented
  # library, so its synchronisation is invisible) from being reported as a race when the first
  # requests arrive together (acmon sync lists its scopes in parallel).
  if [ -z "$port" ] || ! curl -sf -o /dev/null "http://127.0.0.1:$port/_sim/health"; then
    bad "acmon-sim $* did not listen and answer within 30 s"
    tail -5 "$work/sim.log"
    return 1
  fi
}

# wait_for SECONDS COND: true as soon as COND (evaluated) is, false if it is still false after
# SECONDS; checks every 0.05 s. For waiting on a state instead of sleeping a guessed delay.
wait_for() {
  local deadline=$((SECONDS + $1))
  while :; do
    eval "$2" && return 0
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.05
  done
}

# acmon_config FILE [OPTION VALUE]...: writes an acmon configuration with one account and the
# collectors asked for, all pointed at the simulator (http://127.0.0.1:$port unless --endpoint).
#   --database PATH        [daemon] database (required)
#   --listen ADDR          [daemon] listen
#   --log-level LEVEL      [daemon] log_level
#   --shard I/N            [daemon] shard
#   --account NAME         the account's name (default demo)
#   --key-id ID            its access_key_id (required)
#   --secret-file PATH     its access_key_secret_file (required)
#   --endpoint URL         every collector's endpoint
#   --interval DURATION    every collector's interval
#   --smc                  an smc collector
#   --ecs REGIONS          an ecs collector; REGIONS is the inside of the TOML list: '"cn-hangzhou"'
#   --ecs-signature SIG    the ecs collector's signature (v1)
#   --polardb ORDER_IDS    a polardb collector; the inside of the TOML list
#   --raw TEXT             TEXT appended as is (an [alerts] table, another collector)
# Collectors come in the order smc, ecs, polardb; each is named ACCOUNT-PRODUCT by acmon.
acmon_config() {
  local file=$1 database="" listen="" log_level="" shard="" account=demo key_id="" secret_file=""
  local endpoint="http://127.0.0.1:${port:-}" interval="" smc=0 ecs="" ecs_signature="" polardb="" raw=""
  shift
  while [ $# -gt 0 ]; do
    case $1 in
      --smc) smc=1; shift; continue ;;
      --database) database=$2 ;;
      --listen) listen=$2 ;;
      --log-level) log_level=$2 ;;
      --shard) shard=$2 ;;
      --account) account=$2 ;;
      --key-id) key_id=$2 ;;
      --secret-file) secret_file=$2 ;;
      --endpoint) endpoint=$2 ;;
      --interval) interval=$2 ;;
      --ecs) ecs=$2 ;;
      --ecs-signature) ecs_signature=$2 ;;
      --polardb) polardb=$2 ;;
      --raw) raw=$2 ;;
      *) echo "acmon_config: unknown option $1" >&2; return 2 ;;
    esac
    [ $# -ge 2 ] || { echo "acmon_config: $1 needs a value" >&2; return 2; }
    shift 2
  done
  if [ -z "$database" ] || [ -z "$key_id" ] || [ -z "$secret_file" ]; then
    echo "acmon_config: --database, --key-id and --secret-file are required" >&2
    return 2
  fi
  _acmon_config_collector() {  # PRODUCT [KEY = VALUE lines]
    printf '\n[[collectors]]\naccount = "%s"\nproduct = "%s"\nendpoint = "%s"\n' "$account" "$1" "$endpoint"
    [ -n "$interval" ] && printf 'interval = "%s"\n' "$interval"
    [ -n "${2:-}" ] && printf '%s\n' "$2"
    return 0
  }
  {
    printf '[daemon]\ndatabase = "%s"\n' "$database"
    [ -n "$listen" ] && printf 'listen = "%s"\n' "$listen"
    [ -n "$log_level" ] && printf 'log_level = "%s"\n' "$log_level"
    [ -n "$shard" ] && printf 'shard = "%s"\n' "$shard"
    printf '\n[[accounts]]\nname = "%s"\naccess_key_id = "%s"\naccess_key_secret_file = "%s"\n' \
      "$account" "$key_id" "$secret_file"
    [ "$smc" = 1 ] && _acmon_config_collector smc
    if [ -n "$ecs" ]; then
      _acmon_config_collector ecs "regions = [$ecs]${ecs_signature:+$'\n'signature = \"$ecs_signature\"}"
    fi
    [ -n "$polardb" ] && _acmon_config_collector polardb "order_ids = [$polardb]"
    [ -n "$raw" ] && printf '\n%s\n' "$raw"
    true
  } >"$file"
}
