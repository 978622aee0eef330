#!/usr/bin/env bash
# Interface capture flood benchmark (not a test): AF_PACKET capture of a veth to a pcap file by
# tcpdump, netsniff-ng and pcap-zmq-send iface: -> pcap-zmq-recv, interleaved, under the same
# trafgen floods (60-byte and 1514-byte frames, unpaced, and a paced small-frame tier). Reports the
# frames the interface counted, frames in each file, loss, packets/s, CPU per packet, the load
# average beside each round, and writes docs/benchmarks-iface.md.
#
#   sudo scripts/bench/iface-flood.sh            (every tier; after npm run build)
#   sudo scripts/bench/iface-flood.sh mtu        (only these tiers; prints, leaves the doc alone)
#
# Tiers: 100000 (small frames at 100,000 pps), max (small frames unpaced), mtu (1514-byte frames
# unpaced), jumbo (8042-byte frames at MTU 9000). Settings (environment): IFLOOD_COUNT frames per
# flood (300000), IFLOOD_JUMBO_COUNT (100000), IFLOOD_ROUNDS (3), IFLOOD_TOOLS ("tcpdump netsniff
# ours tcpdump-nb"), IFLOOD_TCPDUMP_OPTS ("-B 32768": a 32 MiB ring, as ours), IFLOOD_NETSNIFF_OPTS
# ("-S 32MiB"), IFLOOD_SEND_OPTS (extra pcap-zmq-send flags), IFLOOD_OUT (docs/benchmarks-iface.md,
# "-" = print only, the default when tiers are given), IFLOOD_BUILD=DIR (measure another checkout),
# IFLOOD_PROFILE=DIR (run pcap-zmq-send and pcap-zmq-recv under node --cpu-prof, profiles into DIR).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib-flood.sh
source "$HERE/lib-flood.sh"

COUNT=${IFLOOD_COUNT:-300000}
JUMBO_COUNT=${IFLOOD_JUMBO_COUNT:-100000}
ROUNDS=${IFLOOD_ROUNDS:-3}
if [ $# -gt 0 ]; then
  TIERS="$*"
  OUT=${IFLOOD_OUT:--}
else
  TIERS=${IFLOOD_TIERS:-100000 max mtu jumbo}
  OUT=${IFLOOD_OUT:-$ROOT/docs/benchmarks-iface.md}
fi
TOOLS=${IFLOOD_TOOLS:-tcpdump netsniff ours tcpdump-nb}
TCPDUMP_OPTS=${IFLOOD_TCPDUMP_OPTS--B 32768}
NETSNIFF_OPTS=${IFLOOD_NETSNIFF_OPTS--S 32MiB}
SEND_OPTS=${IFLOOD_SEND_OPTS:-}
BUILD=${IFLOOD_BUILD:-$ROOT}
PROFILE=${IFLOOD_PROFILE:-}
# lib-flood.sh's tier parser wants these; interface capture has no NFLOG threshold.
BASE_THRESHOLD=0
GROUP=0
CLK_TCK=$(getconf CLK_TCK)
FLOOD_ID=$$

die() { echo "iface-flood.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (namespaces, AF_PACKET): run it with sudo"
for t in ip iptables ethtool trafgen tcpdump netsniff-ng capinfos node; do
  command -v "$t" >/dev/null || die "$t not found: run scripts/setup (apt: iproute2 iptables ethtool netsniff-ng tcpdump tshark)"
done
for tier in $TIERS; do
  flood_tier "$tier"
  [[ $TIER_KIND =~ ^(small|mtu|jumbo)$ ]] || die "tier $tier: interface floods are 100000-style rates, max, mtu or jumbo"
done
[ -f "$BUILD/dist/lib/cli/send.js" ] || die "$BUILD/dist/ is missing: run npm run build first"
read -r -a tools <<<"$TOOLS"
for t in "${tools[@]}"; do
  [[ $t =~ ^(tcpdump|tcpdump-nb|netsniff|ours)$ ]] || die "unknown tool \"$t\" in IFLOOD_TOOLS: expected tcpdump, tcpdump-nb, netsniff or ours"
done

WORK=$(mktemp -d /tmp/pzp-iflood.XXXXXX)
STARTED=()
cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  flood_netns_down
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two namespaces and a veth pair, as flood.sh, without NFLOG: the capturing side drops the flood
# in INPUT (no socket, no ICMP back) and has IPv6 off, so the frames on its veth are the flood's.
iface_netns_up() {
  NS_GEN=pzpiflood-gen-$FLOOD_ID
  NS_CAP=pzpiflood-cap-$FLOOD_ID
  VETH_GEN=pzig$FLOOD_ID
  VETH_CAP=pzic$FLOOD_ID
  ip netns add "$NS_GEN"
  ip netns add "$NS_CAP"
  ip link add "$VETH_GEN" netns "$NS_GEN" type veth peer name "$VETH_CAP" netns "$NS_CAP"
  for ns in "$NS_GEN:$VETH_GEN" "$NS_CAP:$VETH_CAP"; do
    ip netns exec "${ns%%:*}" sysctl -qw "net.ipv6.conf.${ns#*:}.disable_ipv6=1"
  done
  ip -n "$NS_GEN" addr add "$FLOOD_SRC_IP/24" dev "$VETH_GEN"
  ip -n "$NS_CAP" addr add "$FLOOD_DST_IP/24" dev "$VETH_CAP"
  for ns in "$NS_GEN" "$NS_CAP"; do ip -n "$ns" link set lo up; done
  ip -n "$NS_GEN" link set "$VETH_GEN" up
  ip -n "$NS_CAP" link set "$VETH_CAP" up
  in_cap iptables -A INPUT -p udp --dport 9 -j DROP
}

# Frames the capturing veth received plus sent (both directions are captured), from its own
# counters: the kernel's truth every tool is compared with.
iface_frames() {
  ip -n "$NS_CAP" -s -j link show "$VETH_CAP" | node -e '
    const s = JSON.parse(require("fs").readFileSync(0, "utf8"))[0].stats64
    console.log(s.rx.packets + s.tx.packets, s.rx.bytes + s.tx.bytes)'
}

start_tcpdump() {
  : > "$WORK/tcpdump.err"
  # shellcheck disable=SC2086
  ip netns exec "$NS_CAP" tcpdump -i "$VETH_CAP" $TCPDUMP_OPTS -w "$1" -Z root 2>"$WORK/tcpdump.err" &
  CAP_PIDS=($!); STARTED+=($!)
  wait_for_text "$WORK/tcpdump.err" "listening on" "$!"
}
stop_tcpdump() {
  stop_pid "${CAP_PIDS[0]}" INT
  # For AF_PACKET this is tp_drops: frames the ring had no room for.
  EXTRA="ring_drops=$(awk '/dropped by kernel/ { print $1 }' "$WORK/tcpdump.err")"
}
start_tcpdump-nb() { TCPDUMP_OPTS='' start_tcpdump "$@"; }
stop_tcpdump-nb() { stop_tcpdump; }

start_netsniff() {
  : > "$WORK/netsniff.err"
  # shellcheck disable=SC2086
  ip netns exec "$NS_CAP" netsniff-ng --in "$VETH_CAP" --out "$1" -s $NETSNIFF_OPTS >"$WORK/netsniff.err" 2>&1 &
  CAP_PIDS=($!); STARTED+=($!)
  wait_for_text "$WORK/netsniff.err" "Running!" "$!"
}
stop_netsniff() {
  stop_pid "${CAP_PIDS[0]}" INT
  EXTRA="ring_drops=$(tr '\r' '\n' <"$WORK/netsniff.err" | awk '/failed filter \(out of space\)/ { print $1 }')"
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
  ip netns exec "$NS_CAP" node "${sprof[@]}" "$BUILD/bin/pcap-zmq-send.js" --debug $SEND_OPTS "iface:$VETH_CAP" "$ep" 2>"$WORK/send.err" &
  local send=$!; STARTED+=($!)
  wait_for_text "$WORK/send.err" "sending iface:" "$send"
  CAP_PIDS=("$send" "$recv")
}
stop_ours() {
  stop_pid "${CAP_PIDS[0]}" INT
  sleep 0.3
  stop_pid "${CAP_PIDS[1]}" INT
  local s r k
  s=$(grep 'final counters' "$WORK/send.err" || true)
  r=$(grep 'final counters' "$WORK/recv.err" || true)
  [ -n "$s" ] || { echo "pcap-zmq-send printed no final counters:" >&2; cat "$WORK/send.err" >&2; }
  [ -n "$r" ] || { echo "pcap-zmq-recv printed no final counters:" >&2; cat "$WORK/recv.err" >&2; }
  # kernel_lost is the ring's tp_drops here.
  EXTRA="ring_drops=$(counter kernel_lost "$s") "
  for k in dropped_queue dropped_hwm packets_lost packets_unconfirmed; do EXTRA+="$k=$(counter "$k" "$s") "; done
  EXTRA+="send_in=$(counter packets_in "$s") send_sent=$(counter packets_sent "$s")"
  EXTRA+=" recv_in=$(counter packets_in "$r") recv_written=$(counter packets_written "$r")"
}
counter() { local v; v=$(sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$2"); echo "${v:-0}"; }

# The output file has stopped growing for 0.6 s (every tool hands a partial ring block over
# within its block timeout, 10 ms for ours and libpcap's default for tcpdump).
wait_file_still() {
  local file=$1 last=-1 size
  sleep 0.5
  for ((i = 0; i < 100; i++)); do
    size=$(stat -c %s "$file" 2>/dev/null || echo 0)
    [ "$size" = "$last" ] && return 0
    last=$size
    sleep 0.6
  done
  echo "output $file still changing 60 s after the flood" >&2
}

# One tool, one flood; appends: tier round tool seconds frames frame_bytes in_pcap ticks_main ticks_second load1 extra
run_one() {
  local tool=$1 round=$2 tier=$3 out=$WORK/$1.pcap c0=() c1=() secs f0 f1 inpcap p load
  rm -f "$out"
  "start_$tool" "$out"
  load=$(load1)
  f0=$(iface_frames)
  for p in "${CAP_PIDS[@]}"; do c0+=("$(cpu_ticks "$p")"); done
  secs=$(flood_send)
  wait_file_still "$out"
  for p in "${CAP_PIDS[@]}"; do c1+=("$(cpu_ticks "$p")"); done
  f1=$(iface_frames)
  "stop_$tool"
  inpcap=$(pcap_count "$out")
  local a=$(( c1[0] - c0[0] )) b=0 n=$(( ${f1% *} - ${f0% *} )) nb=$(( ${f1#* } - ${f0#* } ))
  [ "${#CAP_PIDS[@]}" -gt 1 ] && b=$(( c1[1] - c0[1] ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tier" "$round" "$tool" "$secs" "$n" "$nb" "${inpcap% *}" "$a" "$b" "$load" "$EXTRA" >> "$RESULTS"
  printf '  %-10s tier=%-7s round=%s load=%s: %s frames in %ss, %s in pcap, cpu ticks %s+%s, %s\n' \
    "$tool" "$tier" "$round" "$load" "$n" "$secs" "${inpcap% *}" "$a" "$b" "$EXTRA" >&2
  rm -f "$out"
}

RESULTS=$WORK/results.tsv
: > "$RESULTS"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)
iface_netns_up
CALIB=""
for tier in $TIERS; do
  flood_tier "$tier"
  flood_link "$TIER_KIND"
  flood_trafgen_config "$TIER_KIND"
  f0=$(iface_frames); load=$(load1); s=$(flood_send); f1=$(iface_frames)
  CALIB+="$tier $(( ${f1% *} - ${f0% *} )) $s $load"$'\n'
  echo "tier $tier: generator alone $(( ${f1% *} - ${f0% *} )) frames in $s s, load $load" >&2
  for ((round = 1; round <= ROUNDS; round++)); do
    for ((k = 0; k < ${#tools[@]}; k++)); do
      run_one "${tools[(k + round - 1) % ${#tools[@]}]}" "$round" "$tier"
    done
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(( $(date +%s) - T_START ))

report() {
  local tcpdump_v netsniff_v cpu_model
  tcpdump_v=$( (tcpdump --version 2>&1 || true) | head -2 | tr '\n' ' ' | sed 's/ version / /g; s/ *$//')
  netsniff_v=$( (netsniff-ng -v 2>&1 || true) | awk 'NR == 1 { print $2 }')
  cpu_model=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
  cat <<EOF
# Interface capture flood: AF_PACKET to a pcap file

Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`sudo scripts/bench/iface-flood.sh\` (run took ${ELAPSED} s)${IFLOOD_BUILD:+, pcap-zmq-send/recv built from $IFLOOD_BUILD}.
Machine: $(nproc) cores ($cpu_model), kernel $(uname -r), Node $(node --version); $tcpdump_v, netsniff-ng $netsniff_v.
Load average (1/5/15 min) at the start: $LOAD_START; at the end: $LOAD_END; each round's 1-minute load is
beside its figures. Tools run interleaved, tier by tier, in an order rotated each round: compare tools
within a tier (the ratios), not absolute figures between runs.

Setup: two private namespaces joined by a veth pair; trafgen in one floods UDP to port 9 of the other,
where an iptables rule drops it in INPUT (no socket, no ICMP back) and IPv6 is off, so the capturing
veth carries the flood's frames only. Every tool captures that veth, both directions, in the
capturing namespace, and writes a pcap file:
- tcpdump: \`tcpdump -i VETH ${TCPDUMP_OPTS:+$TCPDUMP_OPTS }-w FILE -Z root\` (libpcap's TPACKET_V3 ring; -B 32768 gives it
  32 MiB, the size of ours); "tcpdump-nb" is libpcap's default 2 MiB ring;
- netsniff-ng: \`netsniff-ng --in VETH --out FILE -s ${NETSNIFF_OPTS}\`;
- ours: \`pcap-zmq-send iface:VETH ${SEND_OPTS:+$SEND_OPTS }ipc://...\` (TPACKET_V3, 32 blocks of 1 MiB, 10 ms block timeout)
  -> \`pcap-zmq-recv ipc://... FILE\` in the same namespace; "+ recv" adds the receiver's CPU.

"frames" is the capturing veth's own count (\`ip -s link\`: received + sent over the flood), "in pcap"
the records in the tool's file (\`capinfos\`); loss = frames - in pcap. ring_drops is each tool's
report of frames the kernel had no ring room for (PACKET_STATISTICS tp_drops: tcpdump's "dropped by
kernel", netsniff-ng's "failed filter (out of space)", our kernel_lost). packets/s is frames over
trafgen's wall time. CPU is utime+stime of the capturing process(es) from /proc/PID/stat (all
threads, ${CLK_TCK} ticks/s) from just before the flood until the file stopped growing, per frame.
The kernel's copy into the ring runs in the generator's softirq and is charged to no tool.

## Generator alone

Nothing captures (the rule still drops):

| tier | frames | packets/s | load (1 min) |
| --- | --- | --- | --- |
$(awk 'NF >= 4 && $3 > 0 { printf "| %s | %d | %.0f | %s |\n", $1, $2, $2 / $3, $4 }' <<<"$CALIB")

EOF
  awk -F'\t' -v tck="$CLK_TCK" -v tdopts="$TCPDUMP_OPTS" -v nsopts="$NETSNIFF_OPTS" -f - "$RESULTS" <<'AWK'
function name(t, second) {
  if (t == "tcpdump") return "tcpdump " (tdopts != "" ? tdopts " " : "") "-w"
  if (t == "tcpdump-nb") return "tcpdump -w (default ring)"
  if (t == "netsniff") return "netsniff-ng " nsopts
  return second ? "pcap-zmq-send + recv" : "pcap-zmq-send"
}
function us(ticks, n) { return n > 0 ? ticks / tck * 1e6 / n : 0 }
function add(key, v) { vals[key, ++cnt[key]] = v }
function median(key,   n, i, j, v, a) {
  n = cnt[key]
  for (i = 1; i <= n; i++) a[i] = vals[key, i]
  for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
  if (n == 0) return 0
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function ratio(v, base) { return base > 0 ? sprintf("%.2fx", v / base) : "-" }
{
  tier = $1; round = $2; tool = $3; secs = $4; m = $5; p = $7; load = $10
  if (!(tier in seenTier)) { seenTier[tier] = 1; tiers[++nt] = tier }
  labels = (tool == "ours") ? 2 : 1
  for (s = 0; s < labels; s++) {
    label = name(tool, s); k = tier SUBSEP label
    if (!(k in seen)) { seen[k] = 1; order[tier, ++nl[tier]] = label }
    ticks = s ? $8 + $9 : $8
    add(k SUBSEP "cpu", us(ticks, m)); add(k SUBSEP "pps", secs > 0 ? m / secs : 0)
    if (!(k in lmin) || load < lmin[k]) lmin[k] = load
    if (!(k in lmax) || load > lmax[k]) lmax[k] = load
    frames[k] += m; lost[k] += m - p; runs[k]++
    if (s == 0) {
      nkv = split($11, kv, " ")
      for (q = 1; q <= nkv; q++) {
        split(kv[q], pair, "=")
        if (!((k, pair[1]) in sums)) { keys[k] = keys[k] (keys[k] == "" ? "" : " ") pair[1]; sums[k, pair[1]] = 0 }
        sums[k, pair[1]] += pair[2]
      }
      ex = $11; gsub(/ /, ", ", ex)
    } else ex = "as above"
    detail = detail sprintf("| %s | %s | %s | %.0f | %d | %d | %d | %.3f | %s | %s |\n", tier, round, label, secs > 0 ? m / secs : 0, m, p, m - p, us(ticks, m), load, ex)
  }
}
function summed(k,   n, i, ks, out) {
  n = split(keys[k], ks, " ")
  for (i = 1; i <= n; i++) out = out (i > 1 ? ", " : "") ks[i] "=" sums[k, ks[i]]
  return out
}
END {
  print "## Summary (median over rounds; loss summed)\n"
  print "| tier | tool | packets/s | frames | lost | loss % | CPU us/packet | vs tcpdump | vs netsniff-ng | load (1 min) | counters, summed |"
  print "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  for (i = 1; i <= nt; i++) {
    tier = tiers[i]
    tb = median(tier SUBSEP name("tcpdump", 0) SUBSEP "cpu"); nb = median(tier SUBSEP name("netsniff", 0) SUBSEP "cpu")
    for (j = 1; j <= nl[tier]; j++) {
      k = tier SUBSEP order[tier, j]; c = median(k SUBSEP "cpu"); med[k] = c
      printf "| %s | %s | %.0f | %d | %d | %.3f | %.3f | %s | %s | %s-%s | %s |\n", tier, order[tier, j], median(k SUBSEP "pps"), frames[k], lost[k], frames[k] ? 100 * lost[k] / frames[k] : 0, c, ratio(c, tb), ratio(c, nb), lmin[k], lmax[k], order[tier, j] == "pcap-zmq-send + recv" ? "as above" : summed(k)
    }
  }
  print "\n## Targets\n"
  for (i = 1; i <= nt; i++) {
    tier = tiers[i]
    kt = tier SUBSEP name("tcpdump", 0); kn = tier SUBSEP name("netsniff", 0); ks = tier SUBSEP "pcap-zmq-send"; k2 = tier SUBSEP "pcap-zmq-send + recv"
    if (!runs[ks]) continue
    printf "- tier %s: loss %d of %d (tcpdump %d, netsniff-ng %d): %s. ", tier, lost[ks], frames[ks], lost[kt], lost[kn], lost[ks] == 0 ? "**zero loss, met**" : (lost[ks] <= lost[kt] ? "**lost no more than tcpdump**" : "**not met**")
    printf "Send CPU/packet vs tcpdump %s, send + recv %s (goal <= 1x); vs netsniff-ng: send %s, send + recv %s (goal <= 1.5x).\n", ratio(med[ks], med[kt]), ratio(med[k2], med[kt]), ratio(med[ks], med[kn]), ratio(med[k2], med[kn])
  }
  print "\n## Every round\n"
  print "| tier | round | tool | packets/s | frames | in pcap | loss | CPU us/packet | load (1 min) | counters |"
  print "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  printf "%s", detail
}
AWK
}

REPORT=$WORK/report.md
report > "$REPORT"
cat "$REPORT"
if [ "$OUT" != "-" ]; then
  cp "$REPORT" "$OUT"
  echo "written to $OUT" >&2
fi
