# Helpers for scripts/bench/flood.sh: namespaces, the NFLOG rule, the generator, /proc CPU readings.
# Sourced, not run. Everything made here is named from $FLOOD_ID so parallel runs do not collide.

# Two private namespaces joined by a veth pair; traffic never leaves them. Addresses come from
# 198.18.0.0/15 (benchmarking range, RFC 2544), which nothing outside these namespaces sees.
FLOOD_SRC_IP=198.19.251.1
FLOOD_DST_IP=198.19.251.2

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
  # Log every flood packet to the group, then drop it: no socket, no ICMP port unreachable back.
  ip netns exec "$NS_CAP" iptables -A INPUT -p udp --dport 9 -j NFLOG --nflog-group "$GROUP" --nflog-threshold "$THRESHOLD"
  ip netns exec "$NS_CAP" iptables -A INPUT -p udp --dport 9 -j DROP
}

# Replaces the NFLOG rule's threshold (packets the kernel queues before sending a batch).
flood_set_threshold() {
  THRESHOLD=$1
  in_cap iptables -R INPUT 1 -p udp --dport 9 -j NFLOG --nflog-group "$GROUP" --nflog-threshold "$THRESHOLD"
}

flood_netns_down() {
  [ -n "${NS_GEN:-}" ] && ip netns del "$NS_GEN" 2>/dev/null || true
  [ -n "${NS_CAP:-}" ] && ip netns del "$NS_CAP" 2>/dev/null || true
}

in_cap() { ip netns exec "$NS_CAP" "$@"; }

# trafgen needs the whole frame: Ethernet to the peer's MAC, IPv4, UDP to the discard port,
# 18 bytes of payload (a 60-byte frame, 46-byte IP packet: the smallest Ethernet carries).
flood_trafgen_config() {
  local mac
  mac=$(ip -n "$NS_CAP" -br link show "$VETH_CAP" | awk '{print $3}')
  printf '{ eth(da=%s), ipv4(saddr=%s, daddr=%s, ttl=64), udp(sp=40000, dp=9), fill(0x41, 18) }\n' \
    "$mac" "$FLOOD_SRC_IP" "$FLOOD_DST_IP" > "$WORK/flood.trafgen"
}

# flood RATE: sends $COUNT packets. RATE is pps (trafgen -b, one generator process), "max" (one
# generator process, unpaced) or "max2" (one unpaced process per core). Prints wall seconds.
flood_send() {
  local rate=$1 args=(-o "$VETH_GEN" -i "$WORK/flood.trafgen" -n "$COUNT" -q)
  case $rate in
    max) args+=(-P 1) ;;
    max2) args+=(-P "$(nproc)") ;;
    *) args+=(-P 1 -b "${rate}pps") ;;
  esac
  local t0 t1
  t0=$(date +%s%N)
  ip netns exec "$NS_GEN" trafgen "${args[@]}" >"$WORK/trafgen.out" 2>&1 || { cat "$WORK/trafgen.out" >&2; return 1; }
  t1=$(date +%s%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }'
}

flood_rule_zero() { in_cap iptables -Z INPUT; }
# Packets matched by the NFLOG rule since the last zero.
flood_rule_count() { in_cap iptables -L INPUT -v -x -n | awk '$3 == "NFLOG" { print $1; exit }'; }

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

# Records in a pcap file (capinfos reads only the record headers).
pcap_count() {
  local n
  n=$(capinfos -c -M "$1" 2>/dev/null | awk -F: '/Number of packets/ { gsub(/ /, "", $2); print $2 }')
  echo "${n:-0}"
}
