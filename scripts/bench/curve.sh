#!/usr/bin/env bash
# CURVE overhead benchmark (not a test): the same pcap replayed pcap-zmq-send -> pcap-zmq-recv over
# TCP on loopback, with CURVE (keys from pcap-zmq-keygen) and without, alternating, ROUNDS rounds per
# packet size. Reports the CPU (utime + stime of both processes, all threads, from /proc) per
# packet and per MiB, and the ratio with CURVE over without, per round and as the median.
#
#   scripts/bench/curve.sh            (after npm run build; prints a Markdown table)
# Settings (environment): CURVE_PACKETS (200000 per file), CURVE_SIZES ("100 1500"; IP packet
# bytes), CURVE_ROUNDS (3).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PACKETS=${CURVE_PACKETS:-200000}
SIZES=${CURVE_SIZES:-100 1500}
ROUNDS=${CURVE_ROUNDS:-3}
CLK_TCK=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/pzp-bench-curve.XXXXXX)
RECV_PID=
cleanup() {
  [ -n "$RECV_PID" ] && kill -9 "$RECV_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

bin() { echo "$ROOT/bin/pcap-zmq-$1.js"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# A raw-IP pcap of PACKETS UDP packets of SIZE bytes.
make_pcap() {
  node -e '
    const [n, size, out] = [Number(process.argv[1]), Number(process.argv[2]), process.argv[3]]
    const fs = require("node:fs")
    const h = Buffer.alloc(24)
    h.writeUInt32LE(0xa1b2c3d4, 0); h.writeUInt16LE(2, 4); h.writeUInt16LE(4, 6); h.writeUInt32LE(65535, 16); h.writeUInt32LE(101, 20)
    const rec = Buffer.alloc(16 + size)
    rec.writeUInt32LE(size, 8); rec.writeUInt32LE(size, 12)
    rec[16] = 0x45; rec.writeUInt16BE(size, 18); rec[24] = 64; rec[25] = 17
    const fd = fs.openSync(out, "w"); fs.writeSync(fd, h)
    for (let i = 0; i < n; i++) { rec.writeUInt32LE(1700000000 + Math.floor(i / 1e6), 0); rec.writeUInt32LE(i % 1e6, 4); rec.writeUInt32LE(i, 28); fs.writeSync(fd, rec) }
    fs.closeSync(fd)' "$PACKETS" "$1" "$2"
}

mkdir -p "$WORK/allow"
node "$(bin keygen)" "$WORK/server" >/dev/null 2>&1
node "$(bin keygen)" "$WORK/sender" >/dev/null 2>&1
cp "$WORK/sender" "$WORK/allow/"

# One replay; prints "send_ticks recv_ticks delivered".
run() {
  local file=$1 curve=$2 port srv=() cli=()
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  if [ "$curve" = yes ]; then
    srv=(--curve-key "$WORK/server_secret" --curve-allow "$WORK/allow")
    cli=(--curve-key "$WORK/sender_secret" --curve-server "$WORK/server")
  fi
  node "$(bin recv)" "tcp://127.0.0.1:$port" /dev/null --debug "${srv[@]}" 2>"$WORK/recv.log" &
  RECV_PID=$!
  for _ in $(seq 100); do grep -q 'listening on' "$WORK/recv.log" && break; sleep 0.1; done
  local r0; r0=$(ticks "$RECV_PID")
  /usr/bin/time -f '%U %S' -o "$WORK/send.time" node "$(bin send)" "pcap:$file" "tcp://127.0.0.1:$port" "${cli[@]}" 2>"$WORK/send.log"
  local r1; r1=$(ticks "$RECV_PID")
  kill -INT "$RECV_PID"; wait "$RECV_PID" || true; RECV_PID=
  local s; s=$(awk -v t="$CLK_TCK" '{ printf "%d", ($1 + $2) * t }' "$WORK/send.time")
  local delivered; delivered=$(grep -o 'packets_sent=[0-9]*' "$WORK/send.log" | tail -1 | cut -d= -f2)
  echo "$s $((r1 - r0)) ${delivered:-0}"
}

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "# CURVE overhead: pcap-zmq-send -> pcap-zmq-recv over TCP loopback"
echo
echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC'), build $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)."
echo "$PACKETS packets per replay; CPU = send (whole process, including its start and reading the file) + recv (over the replay), ticks of 1/$CLK_TCK s."
echo
echo "| IP packet | round | plain send+recv | CURVE send+recv | plain us/packet | CURVE us/packet | plain ms/MiB | CURVE ms/MiB | CURVE / plain |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for size in $SIZES; do
  make_pcap "$size" "$WORK/in.pcap"
  mib=$(awk -v n="$PACKETS" -v s="$size" 'BEGIN { print n * s / 1048576 }')
  : >"$WORK/ratios"
  for round in $(seq "$ROUNDS"); do
    # Alternate which goes first, so drift in the machine's load falls on both.
    if (( round % 2 )); then order="no yes"; else order="yes no"; fi
    for c in $order; do
      read -r s r d < <(run "$WORK/in.pcap" "$c")
      [ "$d" = "$PACKETS" ] || { echo "curve.sh: $c delivered $d of $PACKETS packets" >&2; exit 1; }
      eval "t_$c=$((s + r))"
    done
    echo "$(awk -v a="$t_yes" -v b="$t_no" 'BEGIN { printf "%.3f", a / b }')" >>"$WORK/ratios"
    awk -v size="$size" -v round="$round" -v p="$t_no" -v c="$t_yes" -v n="$PACKETS" -v mib="$mib" -v hz="$CLK_TCK" 'BEGIN {
      printf "| %d B | %d | %d | %d | %.3f | %.3f | %.3f | %.3f | %.2fx |\n", size, round, p, c, p / hz / n * 1e6, c / hz / n * 1e6, p / hz / mib * 1e3, c / hz / mib * 1e3, c / p }'
  done
  echo "| $size B | median | | | | | | | $(median <"$WORK/ratios")x |"
done
