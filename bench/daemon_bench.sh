#!/usr/bin/env bash
# The daemon's footprint: /metrics scrape time and size, resident memory, idle CPU, for 1,000 and
# 100,000 codes. Prints figures to compare between commits.
#   daemon_bench.sh ACMON ACMON_SIM [CODES...]
set -uo pipefail
ACMON=$1
SIM=$2
shift 2
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(1000 100000)
work=$(mktemp -d)
. "$(dirname "$0")/../tests/lib.sh"
pids=()
trap 'for p in "${pids[@]}" $sim_pid; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
printf 'bench-secret\n' >"$work/secret"
chmod 600 "$work/secret"
ticks=$(getconf CLK_TCK)

printf '%-8s %10s %10s %12s %12s %12s %10s\n' codes series scrape_ms scrape_MiB rss_MiB peak_MiB idle_cpu
for n in "${sizes[@]}"; do
  rm -f "$work"/acmon.db*
  smc=$((n * 40 / 100)); ecs=$((n * 30 / 100)); pdb=$((n - smc - 2 * ecs))
  start_sim --generate "{\"account\":\"LTAIb\",\"secret\":\"bench-secret\",\"smc\":$smc,\"ecs\":{\"regions\":[\"cn-hangzhou\",\"cn-beijing\"],\"per_region\":$((ecs))},\"polardb\":{\"orders\":[\"2233000000001\"],\"per_order\":$pdb}}"
  mport=$(free_port)
  acmon_config "$work/acmon.toml" --database "$work/acmon.db" --listen "127.0.0.1:$mport" --log-level warn \
    --account b --key-id LTAIb --secret-file "$work/secret" --interval 1h \
    --smc --ecs '"cn-hangzhou", "cn-beijing"' --polardb '"2233000000001"'
  "$ACMON" run --config "$work/acmon.toml" >"$work/acmon.log" 2>&1 &
  acmon=$!
  pids+=($acmon)
  for _ in $(seq 1200); do [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/readyz")" = 200 ] && break; sleep 0.1; done
  best=""
  size=0
  for _ in 1 2 3 4 5; do
    read -r t s < <(curl -s -o "$work/metrics.txt" -w '%{time_total} %{size_download}\n' "http://127.0.0.1:$mport/metrics")
    size=$s
    ms=$(awk -v t="$t" 'BEGIN { printf "%.0f", t * 1000 }')
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  series=$(grep -vc '^#' "$work/metrics.txt")
  rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$acmon/status")
  hwm=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$acmon/status")
  kill "$sim_pid"; wait "$sim_pid" 2>/dev/null; sim_pid=""  # idle: nothing to poll, no scrapes
  c0=$(cpu_ticks "$acmon")
  sleep 20
  c1=$(cpu_ticks "$acmon")
  idle=$(awk -v a="$c0" -v b="$c1" -v hz="$ticks" 'BEGIN { printf "%.2f%%", 100 * (b - a) / hz / 20 }')
  printf '%-8s %10s %10s %12.2f %12s %12s %10s\n' "$n" "$series" "$best" "$(awk -v s="$size" 'BEGIN{print s/1048576}')" "$rss" "$hwm" "$idle"
  kill "$acmon"; wait "$acmon" 2>/dev/null
done
echo "(scrape_ms: best of 5 scrapes; rss: after the scrapes; peak: VmHWM; idle_cpu: share of one core over 20 s with nothing due)"
