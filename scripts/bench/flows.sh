#!/usr/bin/env bash
# Flow meters benchmark (not a test): pcap-zmq-track beside nfdump's nfpcapd, argus and softflowd
# (Debian packages nfdump, argus-server + argus-client, softflowd) on the same generated captures,
# one after the other, ROUNDS rounds: a short-flow workload (100,000 TCP flows of 10 packets, all
# open at once) and a long-flow one (100 flows of 10,000 packets). Reports CPU seconds (user + system,
# /usr/bin/time), packets per CPU-second, peak RSS and the flows each tool counted, and the ratio of
# each tool's CPU to ours.
#
#   scripts/bench/flows.sh            (after npm run build; prints Markdown)
# Settings (environment): FLOWS_PACKETS (1000000 per workload), FLOWS_ROUNDS (3).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PACKETS=${FLOWS_PACKETS:-1000000}
ROUNDS=${FLOWS_ROUNDS:-3}
WORK=$(mktemp -d /tmp/pzp-bench-flows.XXXXXX)
SINK_PID=
trap '[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
# softflowd exports NetFlow over UDP: a sink on loopback reads it (to a closed port it stalls).
python3 -c 'import socket,sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True: s.recv(65535)' >"$WORK/sink.port" &
SINK_PID=$!
for _ in $(seq 50); do [ -s "$WORK/sink.port" ] && break; sleep 0.1; done
SINK_PORT=$(cat "$WORK/sink.port")
for c in nfpcapd nfdump argus ra softflowd; do
  command -v "$c" >/dev/null || { echo "flows.sh: $c is missing (apt-get install nfdump argus-server argus-client softflowd)" >&2; exit 1; }
done

# One timed command: prints "cpu_seconds peak_rss_kib".
timed() {
  /usr/bin/time -f '%U %S %M' -o "$WORK/time" "$@" >/dev/null 2>"$WORK/stderr" || { echo "flows.sh: failed: $* ($(tail -1 "$WORK/stderr"))" >&2; exit 1; }
  awk '{ printf "%.2f %d\n", $1 + $2, $3 }' "$WORK/time"
}

# Flows counted, per tool (each counts a TCP connection as one bidirectional flow, except
# softflowd, which exports each direction as a NetFlow record: it is not counted here).
ours() {
  local r; r=$(timed sh -c "node '$ROOT/bin/pcap-zmq-track.js' - < '$1' 2>'$WORK/track.err'")
  echo "$r $(grep -o ' sessions=[0-9]*' "$WORK/track.err" | tail -1 | cut -d= -f2)"
}
nfpcapd_run() {
  rm -rf "$WORK/nf"; mkdir "$WORK/nf"
  local r; r=$(timed nfpcapd -r "$1" -w "$WORK/nf")
  echo "$r $(nfdump -R "$WORK/nf" -q -o 'fmt:%pr' 2>/dev/null | wc -l)"
}
argus_run() {
  rm -f "$WORK/out.argus"
  local r; r=$(timed argus -r "$1" -w "$WORK/out.argus")
  echo "$r $(ra -r "$WORK/out.argus" -n -s proto 2>/dev/null | wc -l)"
}
softflowd_run() {
  # -m lifts its 8192-flow table to fit every flow. softflowd 1.1.0 cuts the capture's path short
  # (and then waits forever), so it gets a short relative one.
  local r; r=$(cd "$(dirname "$1")" && timed softflowd -r "$(basename "$1")" -d -m 2000000 -n "127.0.0.1:$SINK_PORT" -p sf.pid -c sf.ctl)
  echo "$r -"
}

echo "# Flow meters: pcap-zmq-track beside nfpcapd, argus and softflowd"
echo
echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC'), build $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the start."
echo "$(nfpcapd -V 2>&1 | head -1); argus $(argus -h 2>&1 | sed -n 's/^Argus Version //p' | head -1); $(softflowd -h 2>&1 | sed -n 's/^This is \(softflowd version [^.]*\.[^.]*\.[0-9]*\).*/\1/p')."
echo "pcap-zmq-track writes every event as NDJSON (to /dev/null); the others write their own flow records. CPU = user + system of the whole process (start included), median of $ROUNDS rounds."
echo
echo "| workload | tool | CPU s | packets per CPU-s | peak RSS MiB | flows | CPU vs ours |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for workload in short long; do
  if [ "$workload" = short ]; then flows=100000; else flows=100; fi
  node "$ROOT/dist/scripts/bench/track.js" "$PACKETS" --flows=$flows --write="$WORK/$workload.pcap" >/dev/null
  declare -A cpu=() rss=() count=()
  for round in $(seq "$ROUNDS"); do
    for tool in ours nfpcapd_run argus_run softflowd_run; do
      read -r c m n < <($tool "$WORK/$workload.pcap")
      cpu[$tool]+="$c "; rss[$tool]=$m; count[$tool]=$n
    done
  done
  median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
  ourcpu=$(echo "${cpu[ours]}" | median)
  for tool in ours nfpcapd_run argus_run softflowd_run; do
    c=$(echo "${cpu[$tool]}" | median)
    name=${tool%_run}; [ "$name" = ours ] && name=pcap-zmq-track
    awk -v w="$workload" -v t="$name" -v c="$c" -v p="$PACKETS" -v m="${rss[$tool]}" -v n="${count[$tool]}" -v o="$ourcpu" 'BEGIN {
      printf "| %s | %s | %.2f | %d | %.0f | %s | %.2fx |\n", w, t, c, (c > 0 ? p / c : 0), m / 1024, n, (o > 0 ? c / o : 0) }'
  done
  rm -f "$WORK/$workload.pcap"
  unset cpu rss count
done
