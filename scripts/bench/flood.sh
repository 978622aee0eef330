#!/usr/bin/env bash
# Flood benchmark (not a test): NFLOG capture to a pcap file by tcpdump, ulogd2 (PCAP output) and
# pcap-zmq-send -> pcap-zmq-recv, interleaved, under the same trafgen flood in private namespaces.
# Reports packets matched by the rule, packets in each pcap, loss and CPU time per packet over the
# flood, and writes docs/benchmarks-flood.md.
#
#   sudo scripts/bench/flood.sh            (after: npx tsc -p tsconfig.json)
#
# Settings (environment): FLOOD_COUNT packets per flood (300000), FLOOD_ROUNDS (3), FLOOD_RATES, the
# tiers ("100000 max max/1000": pps paced by trafgen, "max" = one unpaced generator process, "max2" =
# one per core; "/T" sets the rule's --nflog-threshold for that tier), FLOOD_GROUP (5),
# FLOOD_THRESHOLD (threshold of tiers without "/T", 64), FLOOD_SEND_OPTS (extra pcap-zmq-send flags), FLOOD_TOOLS ("tcpdump ulogd ours"), FLOOD_OUT (docs/benchmarks-flood.md, "-" = print only),
# FLOOD_PROFILE=DIR (run pcap-zmq-send under node --cpu-prof, profiles into DIR), FLOOD_BUILD=DIR (a
# checkout whose bin/ and dist/ are measured instead of this one: compare a change before and after).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib-flood.sh
source "$HERE/lib-flood.sh"
# shellcheck source=lib-flood-report.sh
source "$HERE/lib-flood-report.sh"

COUNT=${FLOOD_COUNT:-300000}
ROUNDS=${FLOOD_ROUNDS:-3}
RATES=${FLOOD_RATES:-100000 max max/1000}
GROUP=${FLOOD_GROUP:-5}
THRESHOLD=${FLOOD_THRESHOLD:-64}
# Every tool gets the kernel's flush timeout of 1 s (tcpdump cannot set it; that is its value).
SEND_OPTS=${FLOOD_SEND_OPTS:-}
TOOLS=${FLOOD_TOOLS:-tcpdump ulogd ours}
OUT=${FLOOD_OUT:-$ROOT/docs/benchmarks-flood.md}
PROFILE=${FLOOD_PROFILE:-}
DRAIN_MIN=1.3
ULOGD_PLUGINS=/usr/lib/x86_64-linux-gnu/ulogd
CLK_TCK=$(getconf CLK_TCK)
FLOOD_ID=$$

die() { echo "flood.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (namespaces, iptables, NFLOG): run it with sudo"
for t in ip iptables trafgen tcpdump ulogd capinfos node; do
  command -v "$t" >/dev/null || die "$t not found: run scripts/setup (apt: iproute2 iptables netsniff-ng tcpdump ulogd2 tshark)"
done
BUILD=${FLOOD_BUILD:-$ROOT}
[ -f "$BUILD/dist/lib/cli/send.js" ] || die "$BUILD/dist/ is missing: run npx tsc -p tsconfig.json first"
[ -f "$ULOGD_PLUGINS/ulogd_output_PCAP.so" ] || die "ulogd PCAP plugin not found in $ULOGD_PLUGINS"

WORK=$(mktemp -d /tmp/pzp-flood.XXXXXX)
STARTED=()
cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  flood_netns_down
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Each start_* sets CAP_PIDS (capturing processes, CPU summed in this order) and OUT_FILE.
start_tcpdump() {
  # -Z root: tcpdump otherwise drops to its own user before opening the output file.
  ip netns exec "$NS_CAP" tcpdump -i "nflog:$GROUP" -w "$1" -Z root 2>"$WORK/tcpdump.err" &
  CAP_PIDS=($!); STARTED+=($!)
  wait_for_text "$WORK/tcpdump.err" "listening on" "$!"
}
stop_tcpdump() {
  stop_pid "${CAP_PIDS[0]}" INT
  # "dropped by kernel": libpcap's nflog reader tests errno after every recv, so once one ENOBUFS
  # has happened it counts every later read too; not a packet count (nl_drops is the kernel's).
  EXTRA="pcap_drop=$(awk '/dropped by kernel/ { print $1 }' "$WORK/tcpdump.err")"
}

start_ulogd() {
  local log=$WORK/ulogd.log
  : > "$log"
  cat > "$WORK/ulogd.conf" <<EOF
[global]
logfile="$log"
loglevel=3
plugin="$ULOGD_PLUGINS/ulogd_inppkt_NFLOG.so"
plugin="$ULOGD_PLUGINS/ulogd_raw2packet_BASE.so"
plugin="$ULOGD_PLUGINS/ulogd_output_PCAP.so"
stack=log1:NFLOG,base1:BASE,pcap1:PCAP

[log1]
group=$GROUP
netlink_qthreshold=$THRESHOLD
netlink_qtimeout=100

[pcap1]
file="$1"
sync=0
EOF
  ip netns exec "$NS_CAP" ulogd -c "$WORK/ulogd.conf" &
  CAP_PIDS=($!); STARTED+=($!)
  wait_for_text "$log" "entering main loop" "$!"
}
stop_ulogd() {
  stop_pid "${CAP_PIDS[0]}" TERM
  # ulogd logs "We are losing events" on each ENOBUFS.
  EXTRA="enobufs=$(grep -c 'losing events' "$WORK/ulogd.log" || true)"
}

start_ours() {
  local ep=ipc://$WORK/recv.ipc prof=()
  [ -n "$PROFILE" ] && prof=(--cpu-prof --cpu-prof-dir "$PROFILE")
  ip netns exec "$NS_CAP" node "$BUILD/bin/pcap-zmq-recv.js" --debug "$ep" "$1" 2>"$WORK/recv.err" &
  local recv=$!; STARTED+=($!)
  wait_for_text "$WORK/recv.err" "listening on" "$recv"
  # shellcheck disable=SC2086
  ip netns exec "$NS_CAP" node "${prof[@]}" "$BUILD/bin/pcap-zmq-send.js" --debug --libnflog-timeout 1 $SEND_OPTS "$GROUP" "$ep" 2>"$WORK/send.err" &
  local send=$!; STARTED+=($!)
  wait_for_text "$WORK/send.err" "sending NFLOG" "$send"
  CAP_PIDS=("$send" "$recv")
}
stop_ours() {
  # Sender first, so the receiver writes every batch that left it.
  stop_pid "${CAP_PIDS[0]}" INT
  sleep 0.3
  stop_pid "${CAP_PIDS[1]}" INT
  local s r
  s=$(grep 'final counters' "$WORK/send.err" || true)
  r=$(grep 'final counters' "$WORK/recv.err" || true)
  [ -n "$s" ] || { echo "pcap-zmq-send printed no final counters:" >&2; cat "$WORK/send.err" >&2; }
  [ -n "$r" ] || { echo "pcap-zmq-recv printed no final counters:" >&2; cat "$WORK/recv.err" >&2; }
  # Where a loss happened: before send (kernel), between send and recv (queue), or in recv.
  EXTRA="enobufs=$(counter enobufs "$s") bad_input=$(counter bad_input "$s") dropped_queue=$(counter dropped_queue "$s") send_in=$(counter packets_in "$s") recv_written=$(counter packets_written "$r")"
}
counter() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$2"; }

# One tool, one flood. Appends a row to $RESULTS:
# rate round tool seconds matched in_pcap ticks_main ticks_second extra
run_one() {
  local tool=$1 rate=$2 round=$3 tier=$4 out=$WORK/$1.pcap c0=() c1=() secs matched inpcap p
  rm -f "$out"
  "start_$tool" "$out"
  flood_rule_zero
  for p in "${CAP_PIDS[@]}"; do c0+=("$(cpu_ticks "$p")"); done
  secs=$(flood_send "$rate")
  wait_drained "$out"
  for p in "${CAP_PIDS[@]}"; do c1+=("$(cpu_ticks "$p")"); done
  matched=$(flood_rule_count)
  local drops
  drops=$(netlink_drops)
  "stop_$tool"
  EXTRA="nl_drops=$drops $EXTRA"
  inpcap=$(pcap_count "$out")
  local a=$(( c1[0] - c0[0] )) b=0
  [ "${#CAP_PIDS[@]}" -gt 1 ] && b=$(( c1[1] - c0[1] ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tier" "$round" "$tool" "$secs" "$matched" "$inpcap" "$a" "$b" "$EXTRA" >> "$RESULTS"
  printf '  %-8s tier=%-10s round=%s: %s pkts in %ss, %s in pcap, cpu ticks %s+%s, %s\n' "$tool" "$tier" "$round" "$matched" "$secs" "$inpcap" "$a" "$b" "$EXTRA" >&2
  rm -f "$out"
}

RESULTS=$WORK/results.tsv
: > "$RESULTS"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)
flood_netns_up
flood_trafgen_config

# The generator's own ceiling, nobody listening on the group (the rule still matches and drops).
CALIB=""
for r in max max2; do
  flood_rule_zero
  s=$(flood_send "$r")
  CALIB+="$r $(flood_rule_count) $s"$'\n'
done
echo "generator alone: $(awk 'NF == 3 && $3 > 0 { printf "%s %.0f pps; ", $1, $2 / $3 }' <<<"$CALIB")" >&2

read -r -a tools <<<"$TOOLS"
BASE_THRESHOLD=$THRESHOLD
for tier in $RATES; do
  rate=${tier%%/*}
  t=$BASE_THRESHOLD
  if [ "$tier" != "$rate" ]; then t=${tier#*/}; fi
  flood_set_threshold "$t"
  for ((round = 1; round <= ROUNDS; round++)); do
    # Rotate the order each round so no tool always runs first (or right after another).
    for ((k = 0; k < ${#tools[@]}; k++)); do
      run_one "${tools[(k + round - 1) % ${#tools[@]}]}" "$rate" "$round" "$tier"
    done
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(( $(date +%s) - T_START ))

REPORT=$WORK/report.md
flood_report "$RESULTS" > "$REPORT"
cat "$REPORT"
if [ "$OUT" != "-" ]; then
  cp "$REPORT" "$OUT"
  echo "written to $OUT" >&2
fi
