#!/usr/bin/env bash
# Trackers on one shard-published stream: a pcap of many TCP flows replayed by pcap-zmq-send into
# pcap-zmq-recv --publish --shards N, with N pcap-zmq-track --shard K/N, for N = 1, 2, 4. Reports the
# aggregate packets/s (replay start until every tracker has seen every packet) and the trackers' CPU
# per packet (utime + stime from /proc, all trackers together): flat CPU per packet means sharding
# adds no work. Then one tracker alone on shard 0 of 2 and of 4, which shows the per-packet cost
# of a shard where the machine has fewer cores than processes. Not a test. Run after `npm run build`: bash scripts/bench/shards.sh [flows] [packets/flow]
set -euo pipefail
cd "$(dirname "$0")/../.."
FLOWS=${1:-4000}
PER=${2:-50}
work=$(mktemp -d /tmp/pzp-bench-shards-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# LINKTYPE_RAW capture: FLOWS TCP connections of PER packets each, both directions, interleaved.
python3 - "$work/flows.pcap" "$FLOWS" "$PER" <<'EOF'
import struct, sys
path, flows, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
def pkt(src, dst, sp, dp, seq, ack, flags, payload):
    tcp = struct.pack('!HHIIBBHHH', sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    pseudo = src + dst + struct.pack('!BBH', 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack('!H', csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return ip + tcp
with open(path, 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
    t = 1_700_000_000.0
    body = bytes(200)
    for k in range(per):
        for i in range(flows):
            c = bytes([10, (i >> 16) & 255, (i >> 8) & 255, i & 255]); s = bytes([192, 0, 2, 1 + i % 200])
            sp, dp = 1024 + i % 60000, 443
            if k == 0: p = pkt(c, s, sp, dp, 1000, 0, 0x02, b'')
            elif k == 1: p = pkt(s, c, dp, sp, 5000, 1001, 0x12, b'')
            elif k % 2 == 0: p = pkt(c, s, sp, dp, 1001 + 200 * k, 5001, 0x18, body)
            else: p = pkt(s, c, dp, sp, 5001, 1001 + 200 * k, 0x10, b'')
            t += 0.00001
            f.write(struct.pack('<IIII', int(t), int((t % 1) * 1e6), len(p), len(p)) + p)
EOF
total=$((FLOWS * PER))

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
packets_of() { # the packets= of the last counters line in a tracker's stderr
  grep -o 'packets=[0-9]*' "$1" | tail -1 | cut -d= -f2
}

# One round: recv --shards N and trackers for the shard indices given; prints one table row.
# With every shard's tracker it waits until they have seen every packet; with fewer, until their
# counters stop moving (their shards' packets only: the publisher filters the others out).
round() {
  local n=$1; shift
  local ks=("$@")
  ep="ipc://$work/in-$n.sock"; pub="ipc://$work/pub-$n.sock"
  shards=(); [[ $n -gt 1 ]] && shards=(--shards "$n")
  node bin/pcap-zmq-recv.js "$ep" /dev/null --publish "$pub" "${shards[@]}" 2>"$work/recv-$n.err" & rp=$!; pids+=("$rp")
  tps=()
  for k in "${ks[@]}"; do
    sel=(); [[ $n -gt 1 ]] && sel=(--shard "$k/$n")
    node bin/pcap-zmq-track.js "$pub" "${sel[@]}" >/dev/null 2>"$work/track-$n-$k.err" & tp=$!; pids+=("$tp"); tps+=("$tp")
  done
  sleep 1.5
  before=0; for tp in "${tps[@]}"; do before=$((before + $(cpu_ticks "$tp"))); done
  t0=$(date +%s.%N)
  node bin/pcap-zmq-send.js "pcap:$work/flows.pcap" "$ep" 2>"$work/send-$n.err"
  last=-1
  while :; do
    sum=0
    for tp in "${tps[@]}"; do kill -USR1 "$tp"; done
    sleep 0.2
    for k in "${ks[@]}"; do sum=$((sum + $(packets_of "$work/track-$n-$k.err" || echo 0))); done
    [[ $sum -ge $total ]] && break
    if [[ ${#ks[@]} -lt $n && $sum -gt 0 && $sum -eq $last ]]; then break; fi
    last=$sum
    if awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { exit !(a - b > 300) }'; then echo "timeout: $sum of $total" >&2; break; fi
  done
  t1=$(date +%s.%N)
  after=0; for tp in "${tps[@]}"; do after=$((after + $(cpu_ticks "$tp"))); done
  hz=$(getconf CLK_TCK)
  awk -v n="$n" -v m="${#ks[@]}" -v sum="$sum" -v t0="$t0" -v t1="$t1" -v cpu=$((after - before)) -v hz="$hz" \
    'BEGIN { s = t1 - t0; printf "| %d | %d | %d | %.2f | %.0f | %.2f |\n", n, m, sum, s, sum / s, cpu / hz * 1e6 / sum }'
  for tp in "${tps[@]}"; do kill -INT "$tp" 2>/dev/null || true; done
  kill -INT "$rp" 2>/dev/null || true
  wait "$rp" "${tps[@]}" 2>/dev/null || true
  pids=()
}

echo "| shards | trackers | packets | seconds | aggregate packets/s | tracker CPU µs/packet |"
echo "|---:|---:|---:|---:|---:|---:|"
# Every shard's tracker at once: on a host with fewer cores than processes they share them.
for n in 1 2 4; do
  ks=(); for ((k = 0; k < n; k++)); do ks+=("$k"); done
  round "$n" "${ks[@]}"
done
# One tracker alone, on shard 0 of N: its CPU per packet without the others competing for the cores.
for n in 2 4; do round "$n" 0; done
