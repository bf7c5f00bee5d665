#!/usr/bin/env bash
# The daemon's footprint for 1,000 and 100,000 codes: peak memory through the first sync, /metrics
# scrape time and size (plain and gzip), resident memory and how much of it is the daemon's alone
# (USS, PSS), idle CPU; then each figure beside its target (issue #11) with PASS or MISS. Under the
# verdicts, the floor under the RSS figure: what LIBRARY_FLOOR (the same shared libraries, loaded and set up by
# a process that does nothing else) holds.
#   daemon_bench.sh ACMON ACMON_SIM LIBRARY_FLOOR [CODES...]
# Scrape times are medians of several scrapes with the range beside them: other work on the machine
# shows in the range, less in the median.
set -uo pipefail
ACMON=$1
SIM=$2
FLOOR=$3
shift 3
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(1000 100000)
work=$(mktemp -d)
. "$(dirname "$0")/../tests/lib.sh"
pids=()
trap 'for p in "${pids[@]}" $sim_pid; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status_mib() { awk -v k="$2:" '$1 == k {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
# Private memory: USS (the pages only this process maps: Private_Clean + Private_Dirty) and PSS
# (each shared page divided among the processes that map it), from /proc/PID/smaps_rollup.
uss_mib() { awk '$1 == "Private_Clean:" || $1 == "Private_Dirty:" {s += $2} END {printf "%.1f", s / 1024}' "/proc/$1/smaps_rollup"; }
pss_mib() { awk '$1 == "Pss:" {printf "%.1f", $2 / 1024}' "/proc/$1/smaps_rollup"; }
# median_ms FILE: the median and the range of the seconds in FILE (one a line), in ms: "MED MIN MAX".
median_ms() {
  sort -g "$1" | awk '{ t[NR] = $1 * 1000 } END { m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
                                                  printf "%.0f %.0f %.0f\n", m, t[1], t[NR] }'
}
printf 'bench-secret\n' >"$work/secret"
chmod 600 "$work/secret"
ticks=$(getconf CLK_TCK)
scrapes=9
# Longer than two of the daemon's 30 s alert evaluations, so that the figure always holds them.
idle_seconds=65
verdicts=()
# verdict WHAT FIGURE TARGET OK: one line of the closing table.
verdict() { verdicts+=("$(printf '%-46s %-26s %-12s %s' "$1" "$2" "$3" "$([ "$4" = 1 ] && echo PASS || echo MISS)")"); }
le() { awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b) ? 1 : 0 }'; }

printf '%-8s %8s %8s %16s %9s %16s %9s %9s %9s %9s %9s %9s %8s\n' codes series sync_peak scrape_ms scrape_MiB gzip_ms \
  gzip_MiB rss_MiB anon_MiB uss_MiB pss_MiB peak_MiB idle_cpu
for n in "${sizes[@]}"; do
  rm -f "$work"/acmon.db*
  smc=$((n * 40 / 100)); ecs=$((n * 30 / 100)); pdb=$((n - smc - 2 * ecs))
  start_sim --generate "{\"account\":\"LTAIb\",\"secret\":\"bench-secret\",\"smc\":$smc,\"ecs\":{\"regions\":[\"cn-hangzhou\",\"cn-beijing\"],\"per_region\":$((ecs))},\"polardb\":{\"orders\":[\"2233000000001\"],\"per_order\":$pdb}}"
  mport=$(free_port)
  acmon_config "$work/acmon.toml" --database "$work/acmon.db" --listen "127.0.0.1:$mport" --log-level warn \
    --account b --key-id LTAIb --secret-file "$work/secret" --interval 1h \
    --smc --ecs '"cn-hangzhou", "cn-beijing"' --polardb '"2233000000001"'
  # Unpaced (rate_limit = 0): the first sync as fast as the simulator answers, the hardest case
  # for the peak, and no minute of waiting on the default pace of 10 requests a second.
  sed -i 's/^\[\[collectors\]\]$/[[collectors]]\nrate_limit = 0/' "$work/acmon.toml"
  "$ACMON" run --config "$work/acmon.toml" >"$work/acmon.log" 2>&1 &
  acmon=$!
  pids+=($acmon)
  for _ in $(seq 1200); do [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/readyz")" = 200 ] && break; sleep 0.1; done
  sync_peak=$(status_mib "$acmon" VmHWM)  # the first sync and its alert evaluation, before any scrape
  url="http://127.0.0.1:$mport/metrics"
  : >"$work/plain.txt"
  : >"$work/gzip.txt"
  # Timed scrapes read the whole body and keep none of it, as a scraper that parses it in memory
  # does: writing 65 MiB to a file would add the client's own 30 ms or so to the daemon's figure.
  # One scrape of each kind is kept, untimed, for the checks below.
  for _ in $(seq "$scrapes"); do
    curl -s -o /dev/null -w '%{time_total} %{size_download}\n' "$url" >>"$work/plain.txt"
    curl -s -H 'Accept-Encoding: gzip' -o /dev/null -w '%{time_total} %{size_download}\n' "$url" >>"$work/gzip.txt"
  done
  curl -s -o "$work/metrics.txt" "$url"
  curl -s -H 'Accept-Encoding: gzip' -o "$work/metrics.gz" "$url"
  read -r plain_med plain_min plain_max < <(cut -d' ' -f1 "$work/plain.txt" | median_ms /dev/stdin)
  read -r gzip_med gzip_min gzip_max < <(cut -d' ' -f1 "$work/gzip.txt" | median_ms /dev/stdin)
  size=$(tail -1 "$work/plain.txt" | cut -d' ' -f2)
  gz_size=$(tail -1 "$work/gzip.txt" | cut -d' ' -f2)
  series=$(grep -vc '^#' "$work/metrics.txt")
  # Every timed scrape carried the whole page (process_* values aside, its size is the kept one's).
  if awk -v full="$(wc -c <"$work/metrics.txt")" '$2 < full - 64 || $2 > full + 64 { bad = 1 } END { exit !bad }' \
    "$work/plain.txt"; then
    echo "a timed scrape of $n codes did not carry the whole page" >&2
  fi
  # The gzip body inflates to the same page (process_* aside: CPU, memory and descriptors move).
  if ! cmp -s <(gzip -dc "$work/metrics.gz" | grep -v '^process_') <(grep -v '^process_' "$work/metrics.txt"); then
    echo "gzip body of $n codes does not inflate to the plain page" >&2
  fi
  rss=$(status_mib "$acmon" VmRSS)
  anon=$(status_mib "$acmon" RssAnon)
  rss_file=$(status_mib "$acmon" RssFile)
  uss=$(uss_mib "$acmon")
  pss=$(pss_mib "$acmon")
  hwm=$(status_mib "$acmon" VmHWM)
  kill "$sim_pid"; wait "$sim_pid" 2>/dev/null; sim_pid=""  # idle: nothing to poll, no scrapes
  c0=$(cpu_ticks "$acmon")
  sleep "$idle_seconds"
  c1=$(cpu_ticks "$acmon")
  idle=$(awk -v a="$c0" -v b="$c1" -v hz="$ticks" -v s="$idle_seconds" 'BEGIN { printf "%.2f", 100 * (b - a) / hz / s }')
  printf '%-8s %8s %8s %16s %9.2f %16s %9.2f %9s %9s %9s %9s %9s %7s%%\n' "$n" "$series" "$sync_peak" \
    "$plain_med ($plain_min-$plain_max)" "$(awk -v s="$size" 'BEGIN{print s/1048576}')" \
    "$gzip_med ($gzip_min-$gzip_max)" "$(awk -v s="$gz_size" 'BEGIN{print s/1048576}')" "$rss" "$anon" "$uss" "$pss" \
    "$hwm" "$idle"
  kill "$acmon"; wait "$acmon" 2>/dev/null
  if [ "$n" = 100000 ]; then
    verdict "peak RSS through the first sync, 100,000 codes" "$sync_peak MiB" "<= 128 MiB" "$(le "$sync_peak" 128)"
    verdict "/metrics, 100,000 codes (median of $scrapes)" "$plain_med ms ($plain_min-$plain_max)" "<= 100 ms" \
      "$(le "$plain_med" 100)"
    verdict "/metrics gzip, 100,000 codes (median of $scrapes)" \
      "$gzip_med ms, $(awk -v s="$gz_size" 'BEGIN{printf "%.1f", s/1048576}') MiB" "gzip served" "$([ "$gz_size" -lt "$size" ] && echo 1)"
  fi
  if [ "$n" = 1000 ]; then
    verdict "RSS with 1,000 codes (anonymous: $anon MiB)" "$rss MiB" "<= 16 MiB" "$(le "$rss" 16)"
    if floor_out=$("$FLOOR"); then
      floor_kib() { awk -v k="$1" '$1 == k {printf "%.1f", $2 / 1024}' <<<"$floor_out"; }
      floor_note="  (the same shared libraries loaded and set up by a process that does nothing else: $(floor_kib VmRSS) MiB,
   of it $(floor_kib RssFile) MiB their files' pages; the daemon with 1,000 codes: $rss MiB,
   of it $rss_file MiB files' pages, its own binary among them)"
    else
      floor_note="  ($FLOOR failed: no floor for the RSS figure)"
    fi
  fi
  verdict "idle CPU, $n codes (one core, ${idle_seconds} s)" "$idle %" "~0 (<= 0.1 %)" "$(le "$idle" 0.1)"
done
echo "(sync_peak: VmHWM once ready, before any scrape; scrape_ms: median (range) of $scrapes scrapes, each body read"
echo " whole and discarded; gzip: with"
echo " Accept-Encoding: gzip, compressed MiB; rss, anon: after the scrapes; uss, pss: then, from smaps_rollup (USS: the"
echo " pages no other process maps; PSS: each shared page divided among its users); peak: VmHWM after the scrapes;"
echo " idle_cpu: share of one core over $idle_seconds s with nothing due but the 30 s alert evaluations)"
echo
printf '%-46s %-26s %-12s %s\n' target figure wanted verdict
printf '%s\n' "${verdicts[@]}"
if [ -n "${floor_note:-}" ]; then echo "$floor_note"; fi
