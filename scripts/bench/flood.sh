#!/usr/bin/env bash
# Flood benchmark (not a test): NFLOG capture to a pcap file by tcpdump, ulogd2 (PCAP output) and
# pcap-zmq-send -> pcap-zmq-recv, interleaved, under the same traffic in private namespaces: small
# UDP floods, MTU-size and jumbo UDP floods (trafgen) and TCP bulk transfers (iperf3) with offloads
# on (GSO packets up to 64 KiB) and off. Reports packets and bytes matched by the rule, packets in
# each pcap, loss, packets/s, Gbit/s, CPU time per packet and per MiB over the flood, the load
# average beside each round, and writes docs/benchmarks-flood.md.
#
#   sudo scripts/bench/flood.sh                (every tier; after npm run build)
#   sudo scripts/bench/flood.sh mtu tcp-gso    (only these tiers; prints, leaves the doc alone)
#
# Tiers are listed in lib-flood.sh (100000, max, max2, mtu, jumbo, tcp-gso, tcp-mtu; "/T" sets the
# rule's --nflog-threshold for that tier, e.g. max/1000).
# Settings (environment): FLOOD_TIERS (the tiers when none are given as arguments; FLOOD_RATES is
# the old name), FLOOD_COUNT packets per small or mtu flood (300000), FLOOD_JUMBO_COUNT (100000),
# FLOOD_TCP_GSO_BYTES / FLOOD_TCP_MTU_BYTES per TCP transfer (1G / 256M, iperf3 -n), FLOOD_ROUNDS
# (3), FLOOD_GROUP (5), FLOOD_THRESHOLD (threshold of tiers without "/T", 64), FLOOD_SEND_TIMEOUT
# (pcap-zmq-send --libnflog-timeout, 1: the kernel's default that tcpdump gets), FLOOD_SEND_OPTS
# (extra pcap-zmq-send flags), FLOOD_TCPDUMP_OPTS ("-B 262144"), FLOOD_TOOLS ("tcpdump ulogd ours
# tcpdump-nb"; tcpdump-nb is tcpdump without -B), FLOOD_OUT (docs/benchmarks-flood.md with every
# tier, "-" = print only, the default when tiers are given as arguments), FLOOD_PROFILE=DIR (run
# pcap-zmq-send and pcap-zmq-recv under node --cpu-prof, profiles into DIR as send-*/recv-*),
# FLOOD_BUILD=DIR (a checkout whose bin/ and dist/ are measured instead of this one: compare a
# change before and after; FLOOD_BUILD_NAME names it in the report).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib-flood.sh
source "$HERE/lib-flood.sh"
# shellcheck source=lib-flood-report.sh
source "$HERE/lib-flood-report.sh"

COUNT=${FLOOD_COUNT:-300000}
JUMBO_COUNT=${FLOOD_JUMBO_COUNT:-100000}
TCP_GSO_BYTES=${FLOOD_TCP_GSO_BYTES:-1G}
TCP_MTU_BYTES=${FLOOD_TCP_MTU_BYTES:-256M}
ROUNDS=${FLOOD_ROUNDS:-3}
if [ $# -gt 0 ]; then
  TIERS="$*"
  OUT=${FLOOD_OUT:--}
else
  TIERS=${FLOOD_TIERS:-${FLOOD_RATES:-$FLOOD_ALL_TIERS}}
  OUT=${FLOOD_OUT:-$ROOT/docs/benchmarks-flood.md}
fi
GROUP=${FLOOD_GROUP:-5}
THRESHOLD=${FLOOD_THRESHOLD:-64}
BASE_THRESHOLD=$THRESHOLD
# Every tool gets the kernel's flush timeout of 1 s (tcpdump cannot set it; that is its value).
SEND_TIMEOUT=${FLOOD_SEND_TIMEOUT:-1}
SEND_OPTS=${FLOOD_SEND_OPTS:-}
TCPDUMP_OPTS=${FLOOD_TCPDUMP_OPTS--B 262144}
TOOLS=${FLOOD_TOOLS:-tcpdump ulogd ours tcpdump-nb}
PROFILE=${FLOOD_PROFILE:-}
DRAIN_MIN=1.3
ULOGD_PLUGINS=/usr/lib/x86_64-linux-gnu/ulogd
CLK_TCK=$(getconf CLK_TCK)
FLOOD_ID=$$

die() { echo "flood.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (namespaces, iptables, NFLOG): run it with sudo"
for t in ip iptables iptables-save ss ethtool trafgen tcpdump ulogd capinfos node; do
  command -v "$t" >/dev/null || die "$t not found: run scripts/setup (apt: iproute2 iptables ethtool netsniff-ng tcpdump ulogd2 tshark)"
done
NEED_IPERF=
for tier in $TIERS; do
  flood_tier "$tier"
  [[ $TIER_KIND == tcp-* ]] && NEED_IPERF=1
done
[ -z "$NEED_IPERF" ] || command -v iperf3 >/dev/null || die "iperf3 not found (the TCP tiers need it): apt-get install -y iperf3"
BUILD=${FLOOD_BUILD:-$ROOT}
[ -f "$BUILD/dist/lib/cli/send.js" ] || die "$BUILD/dist/ is missing: run npm run build first"
[ -f "$ULOGD_PLUGINS/ulogd_output_PCAP.so" ] || die "ulogd PCAP plugin not found in $ULOGD_PLUGINS"
read -r -a tools <<<"$TOOLS"
for t in "${tools[@]}"; do
  [[ $t =~ ^(tcpdump|tcpdump-nb|ulogd|ours)$ ]] || die "unknown tool \"$t\" in FLOOD_TOOLS: expected tcpdump, tcpdump-nb, ulogd or ours"
done

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

# Each start_* sets CAP_PIDS (capturing processes, CPU summed in this order). Tools start with
# ip netns exec itself, not in_cap: a function sent to the background is a subshell, and $! must be
# the tool (it gets the signals, its /proc/PID/stat is read). Each log is emptied before its tool
# starts: the background shell truncates it only when it gets to run, and until then the previous
# round's "listening on" would pass for this one's (the flood then starts before the tool binds).
start_tcpdump() {
  # -Z root: tcpdump otherwise drops to its own user before opening the output file.
  : > "$WORK/tcpdump.err"
  # shellcheck disable=SC2086
  ip netns exec "$NS_CAP" tcpdump -i "nflog:$GROUP" $TCPDUMP_OPTS -w "$1" -Z root 2>"$WORK/tcpdump.err" &
  CAP_PIDS=($!); STARTED+=($!)
  wait_for_text "$WORK/tcpdump.err" "listening on" "$!"
}
stop_tcpdump() {
  stop_pid "${CAP_PIDS[0]}" INT
  # "dropped by kernel": libpcap's nflog reader tests errno after every recv, so once one ENOBUFS
  # has happened it counts every later read too; not a packet count (nl_drops is the kernel's).
  EXTRA="pcap_drop=$(awk '/dropped by kernel/ { print $1 }' "$WORK/tcpdump.err")"
}
# tcpdump with libpcap's default socket buffer, as the runs before -B measured it.
start_tcpdump-nb() { TCPDUMP_OPTS='' start_tcpdump "$@"; }
stop_tcpdump-nb() { stop_tcpdump; }

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
  local ep=ipc://$WORK/recv.ipc sprof=() rprof=()
  if [ -n "$PROFILE" ]; then
    sprof=(--cpu-prof --cpu-prof-dir "$PROFILE" --cpu-prof-name "send-$$-$RANDOM.cpuprofile")
    rprof=(--cpu-prof --cpu-prof-dir "$PROFILE" --cpu-prof-name "recv-$$-$RANDOM.cpuprofile")
  fi
  : > "$WORK/recv.err"
  : > "$WORK/send.err"
  ip netns exec "$NS_CAP" node "${rprof[@]}" "$BUILD/bin/pcap-zmq-recv.js" --debug "$ep" "$1" 2>"$WORK/recv.err" &
  local recv=$!; STARTED+=($!)
  wait_for_text "$WORK/recv.err" "listening on" "$recv"
  # shellcheck disable=SC2086
  ip netns exec "$NS_CAP" node "${sprof[@]}" "$BUILD/bin/pcap-zmq-send.js" --debug --libnflog-timeout "$SEND_TIMEOUT" $SEND_OPTS "$GROUP" "$ep" 2>"$WORK/send.err" &
  local send=$!; STARTED+=($!)
  wait_for_text "$WORK/send.err" "sending NFLOG" "$send"
  CAP_PIDS=("$send" "$recv")
}
stop_ours() {
  # Sender first, so the receiver writes every batch that left it (the sender waits up to 1 s for
  # the acknowledgements of what is on the way).
  stop_pid "${CAP_PIDS[0]}" INT
  sleep 0.3
  stop_pid "${CAP_PIDS[1]}" INT
  local s r k
  s=$(grep 'final counters' "$WORK/send.err" || true)
  r=$(grep 'final counters' "$WORK/recv.err" || true)
  [ -n "$s" ] || { echo "pcap-zmq-send printed no final counters:" >&2; cat "$WORK/send.err" >&2; }
  [ -n "$r" ] || { echo "pcap-zmq-recv printed no final counters:" >&2; cat "$WORK/recv.err" >&2; }
  # Where a loss happened: in the kernel (enobufs, kernel_lost = NFULA_SEQ gaps, truncated), in the
  # sender (dropped_queue, dropped_hwm), on the way (packets_lost, packets_unconfirmed), or in the
  # receiver (recv_in short of send_sent, recv_written short of recv_in).
  EXTRA=""
  for k in enobufs kernel_lost truncated bad_input dropped_hwm dropped_queue packets_lost packets_unconfirmed; do
    EXTRA+="$k=$(counter "$k" "$s") "
  done
  EXTRA+="send_in=$(counter packets_in "$s") send_queued=$(counter packets_queued "$s") send_sent=$(counter packets_sent "$s")"
  EXTRA+=" recv_in=$(counter packets_in "$r") recv_written=$(counter packets_written "$r")"
  EXTRA+=" recv_lost_batches=$(sed -n 's/.* lost_batches=\([0-9]*\).*/\1/p' "$WORK/recv.err" | awk '{ n += $1 } END { print n + 0 }')"
}
counter() { local v; v=$(sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$2"); echo "${v:-0}"; }

# One tool, one flood. Appends a row to $RESULTS:
# tier round tool seconds matched_packets matched_bytes in_pcap pcap_bytes ticks_main ticks_second load1 extra
run_one() {
  local tool=$1 round=$2 tier=$3 out=$WORK/$1.pcap c0=() c1=() secs matched inpcap p load rb drops
  rm -f "$out"
  "start_$tool" "$out"
  flood_rule_zero
  load=$(load1)
  for p in "${CAP_PIDS[@]}"; do c0+=("$(cpu_ticks "$p")"); done
  secs=$(flood_send)
  wait_drained "$out"
  for p in "${CAP_PIDS[@]}"; do c1+=("$(cpu_ticks "$p")"); done
  matched=$(flood_rule_count)
  drops=$(netlink_drops)
  rb=$(netlink_rcvbuf)
  "stop_$tool"
  EXTRA="nl_drops=$drops $EXTRA rcvbuf=$rb"
  inpcap=$(pcap_count "$out")
  # A LINKTYPE_RAW file holds whole IP packets: its bytes must add up to the rule's.
  local lt
  lt=$(pcap_linktype "$out")
  if [[ ${lt,,} == raw* ]]; then EXTRA+=" bytes_short=$(( ${matched#* } - ${inpcap#* } ))"; fi
  local a=$(( c1[0] - c0[0] )) b=0
  [ "${#CAP_PIDS[@]}" -gt 1 ] && b=$(( c1[1] - c0[1] ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tier" "$round" "$tool" "$secs" "${matched% *}" "${matched#* }" \
    "${inpcap% *}" "${inpcap#* }" "$a" "$b" "$load" "$EXTRA" >> "$RESULTS"
  printf '  %-10s tier=%-9s round=%s load=%s: %s pkts (%s bytes) in %ss, %s in pcap, cpu ticks %s+%s, %s\n' \
    "$tool" "$tier" "$round" "$load" "${matched% *}" "${matched#* }" "$secs" "${inpcap% *}" "$a" "$b" "$EXTRA" >&2
  rm -f "$out"
}

RESULTS=$WORK/results.tsv
: > "$RESULTS"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)
flood_netns_up
[ -z "$NEED_IPERF" ] || flood_iperf_server

# CALIB rows: tier matched_packets matched_bytes seconds load1 (the generator alone, once per tier).
CALIB=""
for tier in $TIERS; do
  flood_tier "$tier"
  flood_set_threshold "$TIER_THRESHOLD"
  flood_link "$TIER_KIND"
  flood_trafgen_config "$TIER_KIND"
  # The generator's own ceiling: nobody listens on the group (the rule still matches and counts).
  flood_rule_zero
  load=$(load1)
  s=$(flood_send)
  row="$tier $(flood_rule_count) $s $load"
  CALIB+="$row"$'\n'
  echo "tier $tier ($(flood_tier_words "$TIER_KIND"), threshold $TIER_THRESHOLD): generator alone $(awk '{ printf "%.0f pps, %.2f Gbit/s", $2 / $4, $3 * 8 / $4 / 1e9 }' <<<"$row"), load $load" >&2
  for ((round = 1; round <= ROUNDS; round++)); do
    # Rotate the order each round so no tool always runs first (or right after another).
    for ((k = 0; k < ${#tools[@]}; k++)); do
      run_one "${tools[(k + round - 1) % ${#tools[@]}]}" "$round" "$tier"
    done
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(( $(date +%s) - T_START ))

REPORT=$WORK/report.md
flood_report "$RESULTS" > "$REPORT"
# Hand-written notes from the marker on survive a rewrite of the file.
if [ "$OUT" != "-" ] && [ -f "$OUT" ] && grep -qF "$FLOOD_NOTES_MARKER" "$OUT"; then
  { echo; awk -v m="$FLOOD_NOTES_MARKER" 'index($0, m) == 1 { on = 1 } on' "$OUT"; } >> "$REPORT"
fi
cat "$REPORT"
if [ "$OUT" != "-" ]; then
  cp "$REPORT" "$OUT"
  echo "written to $OUT" >&2
fi
