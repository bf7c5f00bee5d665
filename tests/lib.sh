# Shared by the shell test suites and bench/daemon_bench.sh; source it after setting $work
# (a scratch folder) and $SIM (the acmon-sim binary).
passed=0
failed=0
sim_pid=""

ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
# eventually NAME COND: like check, but COND may take up to 10 s to become true.
eventually() {
  for _ in $(seq 200); do eval "$2" && { ok "$1"; return; }; sleep 0.05; done
  bad "$1"
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
  port=$(cat "$work/port")
}
