# Helpers for scripts/bench/flood.sh: namespaces, the NFLOG rules, the tiers and their generators,
# /proc CPU readings. Sourced, not run. Everything made here is named from $FLOOD_ID so parallel
# runs do not collide.

# Two private namespaces joined by a veth pair; traffic never leaves them. Addresses come from
# 198.18.0.0/15 (benchmarking range, RFC 2544), which nothing outside these namespaces sees.
FLOOD_SRC_IP=198.19.251.1
FLOOD_DST_IP=198.19.251.2
# The TCP tiers' iperf3 server, in the generator's namespace.
FLOOD_TCP_PORT=5201

# Tiers (flood.sh TIER...): each names its traffic, optionally "/T" for the rule's --nflog-threshold.
#   N      trafgen -b N pps, small UDP (60-byte frames, 46-byte IP packets), one generator process
#   max    the same unpaced, one generator process (the other core is left to the capture tools)
#   max2   the same unpaced, one generator process per core
#   mtu    unpaced trafgen, 1500-byte IP packets (1514-byte frames): the largest a 1500 MTU carries
#   jumbo  unpaced trafgen, veth MTU 9000, 8000-byte UDP payloads (8028-byte IP packets)
#   tcp-gso  iperf3 bulk transfer, offloads on: the OUTPUT rule sees GSO packets up to 64 KiB
#   tcp-mtu  the same with offloads off and gso_max_segs 1: MTU-size TCP segments
FLOOD_ALL_TIERS="100000 max max/1000 mtu jumbo tcp-gso tcp-mtu"

flood_netns_up() {
  NS_GEN=pzpflood-gen-$FLOOD_ID
  NS_CAP=pzpflood-cap-$FLOOD_ID
  # Interface names are limited to 15 characters.
  VETH_GEN=pzfg$FLOOD_ID
  VETH_CAP=pzfc$FLOOD_ID
  ip netns add "$NS_GEN"
  ip netns add "$NS_CAP"
  ip link add "$VETH_GEN" netns "$NS_GEN" type veth peer name "$VETH_CAP" netns "$NS_CAP"
  ip -n "$NS_GEN" addr add "$FLOOD_SRC_IP/24" dev "$VETH_GEN"
  ip -n "$NS_CAP" addr add "$FLOOD_DST_IP/24" dev "$VETH_CAP"
  for ns in "$NS_GEN" "$NS_CAP"; do ip -n "$ns" link set lo up; done
  ip -n "$NS_GEN" link set "$VETH_GEN" up
  ip -n "$NS_CAP" link set "$VETH_CAP" up
  # UDP floods come in: log every flood packet to the group, then drop it (no socket, no ICMP
  # port unreachable back).
  in_cap iptables -A INPUT -p udp --dport 9 -j NFLOG --nflog-group "$GROUP" --nflog-threshold "$THRESHOLD"
  in_cap iptables -A INPUT -p udp --dport 9 -j DROP
  # TCP bulk goes out: iperf3 -c runs in the capturing namespace, so its OUTPUT hook sees the
  # segments as the local stack built them (GSO packets when offloads are on).
  in_cap iptables -A OUTPUT -p tcp -d "$FLOOD_SRC_IP" --dport "$FLOOD_TCP_PORT" -j NFLOG --nflog-group "$GROUP" --nflog-threshold "$THRESHOLD"
}

# Starts the iperf3 server the TCP tiers talk to (it serves one client at a time, as they run).
flood_iperf_server() {
  ip netns exec "$NS_GEN" iperf3 -s --forceflush -B "$FLOOD_SRC_IP" -p "$FLOOD_TCP_PORT" >"$WORK/iperf3-server.log" 2>&1 &
  IPERF_SERVER=$!
  # Killed at exit with the rest (STARTED); no job notice for it.
  disown "$IPERF_SERVER"
  STARTED+=("$IPERF_SERVER")
  wait_for_text "$WORK/iperf3-server.log" "Server listening" "$IPERF_SERVER"
}

# Replaces the NFLOG rules' threshold (packets the kernel queues before sending a batch).
flood_set_threshold() {
  THRESHOLD=$1
  in_cap iptables -R INPUT 1 -p udp --dport 9 -j NFLOG --nflog-group "$GROUP" --nflog-threshold "$THRESHOLD"
  in_cap iptables -R OUTPUT 1 -p tcp -d "$FLOOD_SRC_IP" --dport "$FLOOD_TCP_PORT" -j NFLOG --nflog-group "$GROUP" --nflog-threshold "$THRESHOLD"
}

flood_netns_down() {
  [ -n "${NS_GEN:-}" ] && ip netns del "$NS_GEN" 2>/dev/null || true
  [ -n "${NS_CAP:-}" ] && ip netns del "$NS_CAP" 2>/dev/null || true
}

in_cap() { ip netns exec "$NS_CAP" "$@"; }
in_gen() { ip netns exec "$NS_GEN" "$@"; }

# flood_tier TIER: sets TIER_KIND (small, mtu, jumbo, tcp-gso, tcp-mtu), TIER_RATE (small: pps,
# max or max2), TIER_THRESHOLD, and the traffic (TIER_COUNT packets or TIER_BYTES of TCP).
flood_tier() {
  local tier=$1 name=${1%%/*}
  TIER_THRESHOLD=$BASE_THRESHOLD
  [ "$tier" != "$name" ] && TIER_THRESHOLD=${tier#*/}
  [[ $TIER_THRESHOLD =~ ^[0-9]+$ ]] || die "tier $tier: the threshold after / must be a number"
  TIER_RATE=max
  TIER_COUNT=$COUNT
  TIER_BYTES=
  case $name in
    max | max2) TIER_KIND=small; TIER_RATE=$name ;;
    mtu) TIER_KIND=mtu ;;
    jumbo) TIER_KIND=jumbo; TIER_COUNT=$JUMBO_COUNT ;;
    tcp-gso) TIER_KIND=tcp-gso; TIER_BYTES=$TCP_GSO_BYTES ;;
    tcp-mtu) TIER_KIND=tcp-mtu; TIER_BYTES=$TCP_MTU_BYTES ;;
    *)
      [[ $name =~ ^[0-9]+$ ]] || die "unknown tier \"$tier\": expected a rate in pps, max, max2, mtu, jumbo, tcp-gso or tcp-mtu, optionally /THRESHOLD"
      TIER_KIND=small; TIER_RATE=$name ;;
  esac
}

# What a tier's traffic is, in words, for the report.
flood_tier_words() {
  case $1 in
    small) echo "small UDP (60-byte frames, 46-byte IP packets)" ;;
    mtu) echo "UDP, 1500-byte IP packets (1514-byte frames)" ;;
    jumbo) echo "UDP at MTU 9000, 8028-byte IP packets (8000-byte payloads)" ;;
    tcp-gso) echo "TCP bulk (iperf3), offloads on: GSO packets up to 64 KiB" ;;
    tcp-mtu) echo "TCP bulk (iperf3), offloads off, gso_max_segs 1: 1500-byte segments" ;;
  esac
}

# The link as the tier needs it: MTU 9000 for jumbo, 1500 otherwise; offloads as veth comes up
# (TSO and GSO on, GRO off) for trafgen, which builds its frames itself; for TCP, all on (GRO too)
# or all off, and then also one segment per GSO packet, since local TCP builds GSO packets
# whatever the device says.
flood_link() {
  local kind=$1 mtu=1500 off=() segs=65535 ns dev
  [ "$kind" = jumbo ] && mtu=9000
  case $kind in
    tcp-gso) off=(tso on gso on gro on) ;;
    tcp-mtu) off=(tso off gso off gro off); segs=1 ;;
    *) off=(tso on gso on gro off) ;;
  esac
  for ns in "$NS_GEN:$VETH_GEN" "$NS_CAP:$VETH_CAP"; do
    dev=${ns#*:}; ns=${ns%%:*}
    ip -n "$ns" link set "$dev" mtu "$mtu" gso_max_segs "$segs"
    ip netns exec "$ns" ethtool -K "$dev" "${off[@]}"
  done
}

# trafgen needs the whole frame: Ethernet to the peer's MAC, IPv4, UDP to the discard port and a
# payload making the frame the tier's size (small: 18 bytes, the smallest Ethernet frame).
flood_trafgen_config() {
  local kind=$1 mac fill
  case $kind in
    small) fill=18 ;;
    mtu) fill=1472 ;;
    jumbo) fill=8000 ;;
    *) return 0 ;;
  esac
  mac=$(ip -n "$NS_CAP" -br link show "$VETH_CAP" | awk '{print $3}')
  printf '{ eth(da=%s), ipv4(saddr=%s, daddr=%s, ttl=64), udp(sp=40000, dp=9), fill(0x41, %d) }\n' \
    "$mac" "$FLOOD_SRC_IP" "$FLOOD_DST_IP" "$fill" > "$WORK/flood.trafgen"
}

# flood_send: sends the current tier's traffic and prints the generator's seconds. trafgen: wall
# time of the process. iperf3: the client's own sending time (connection setup excluded).
flood_send() {
  local t0 t1
  case $TIER_KIND in
    tcp-*)
      in_cap iperf3 -c "$FLOOD_SRC_IP" -p "$FLOOD_TCP_PORT" -n "$TIER_BYTES" -J >"$WORK/iperf3.json" 2>"$WORK/iperf3.err" \
        || { cat "$WORK/iperf3.err" "$WORK/iperf3.json" >&2; return 1; }
      node -e 'const e = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).end; console.log(e.sum_sent.seconds.toFixed(4))' "$WORK/iperf3.json"
      return ;;
  esac
  local args=(-o "$VETH_GEN" -i "$WORK/flood.trafgen" -n "$TIER_COUNT" -q)
  # Frames above 2048 bytes need trafgen's jumbo ring slots.
  [ "$TIER_KIND" = jumbo ] && args+=(-J)
  case $TIER_RATE in
    max) args+=(-P 1) ;;
    max2) args+=(-P "$(nproc)") ;;
    *) args+=(-P 1 -b "${TIER_RATE}pps") ;;
  esac
  t0=$(date +%s%N)
  in_gen trafgen "${args[@]}" >"$WORK/trafgen.out" 2>&1 || { cat "$WORK/trafgen.out" >&2; return 1; }
  t1=$(date +%s%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }'
}

flood_rule_zero() { in_cap iptables -Z; }
# "packets bytes" the group's NFLOG rules matched since the last zero (iptables-save -c: every
# chain; only one tier's traffic flows at a time). Bytes are skb->len: whole IP packets.
flood_rule_count() {
  in_cap iptables-save -c | awk -v g="$GROUP" '
    /-j NFLOG/ && $0 ~ ("--nflog-group " g "( |$)") { split(substr($1, 2, length($1) - 2), c, ":"); p += c[1]; b += c[2] }
    END { print p + 0, b + 0 }'
}

# 1-minute load average (what uptime shows first).
load1() { cut -d' ' -f1 /proc/loadavg; }

# utime + stime of a process (all its threads), in clock ticks. The command name may hold spaces
# and parentheses, so fields are counted from the last ')'.
cpu_ticks() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  s=${s##*) }
  awk '{ print $12 + $13 }' <<<"$s"
}

# wait_for_text FILE TEXT PID [SECONDS]: until TEXT appears in FILE; fails if PID dies first.
wait_for_text() {
  local file=$1 text=$2 pid=$3 limit=$(( ${4:-15} * 10 ))
  for ((i = 0; i < limit; i++)); do
    grep -q -- "$text" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { echo "process $pid exited before \"$text\":" >&2; cat "$file" >&2; return 1; }
    sleep 0.1
  done
  echo "timed out waiting for \"$text\" in $file" >&2
  return 1
}

# Bytes waiting in the receiving namespace's NETLINK_NETFILTER sockets (protocol 12): what the
# capturing tool has not read yet.
netlink_backlog() {
  in_cap cat /proc/net/netlink | awk '$2 == 12 { n += $5 } END { print n + 0 }'
}

# Netlink batches the kernel dropped because the capturing socket's buffer was full (its "Drops").
netlink_drops() {
  in_cap cat /proc/net/netlink | awk '$2 == 12 { n += $9 } END { print n + 0 }'
}

# Largest receive buffer (SO_RCVBUF as the kernel accounts it, "rb" in ss) among the capturing
# namespace's NETLINK_NETFILTER sockets ("nft" in ss) other than the kernel's, bytes.
netlink_rcvbuf() {
  in_cap ss -f netlink -m 2>/dev/null | awk '
    $3 ~ /^nft:/ && $3 != "nft:kernel" && match($0, /rb[0-9]+/) { v = substr($0, RSTART + 2, RLENGTH - 2) + 0; if (v > m) m = v }
    END { print m + 0 }'
}

# After the flood: the kernel flushes a partial NFLOG batch after its timeout (1 s for every tool
# here), so wait past it, then until the tool has read everything queued for it and its output
# file has stopped growing. A slow tool on a loaded machine can lag seconds behind the flood.
wait_drained() {
  local file=$1 last=-1 size
  sleep "$DRAIN_MIN"
  for ((i = 0; i < 100; i++)); do
    size=$(stat -c %s "$file" 2>/dev/null || echo 0)
    [ "$size" = "$last" ] && [ "$(netlink_backlog)" = 0 ] && return 0
    last=$size
    sleep 0.3
  done
  echo "output $file still changing 30 s after the flood" >&2
}

# stop_pid PID SIGNAL: signal, then wait up to 5 s before SIGKILL.
stop_pid() {
  local pid=$1 sig=$2
  kill -"$sig" "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  echo "pid $pid did not stop on SIG$sig, killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# "records bytes" of a pcap file: records and the sum of their captured lengths (capinfos reads
# only the record headers). For a LINKTYPE_RAW file the bytes are whole IP packets, comparable
# with the rule's byte counter; an NFLOG file adds its own headers to each record.
pcap_count() {
  capinfos -c -d -M "$1" 2>/dev/null | awk -F: '
    /Number of packets/ { gsub(/ /, "", $2); n = $2 }
    /Data size/ { gsub(/[^0-9]/, "", $2); b = $2 }
    END { print n + 0, b + 0 }'
}

# Link type of a pcap file, as capinfos names it ("rawip" for LINKTYPE_RAW, "nflog"...).
pcap_linktype() {
  capinfos -E -M "$1" 2>/dev/null | awk -F': *' '/encapsulation/ { print $2; exit }'
}
