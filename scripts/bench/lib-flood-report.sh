# Markdown report for scripts/bench/flood.sh. Sourced; reads the settings flood.sh defined.
# Input rows (tab-separated): tier round tool seconds matched_packets matched_bytes in_pcap
# pcap_bytes ticks_main ticks_second load1 extra

# Everything from this line on in the output file is kept when flood.sh rewrites it.
FLOOD_NOTES_MARKER='<!-- notes: flood.sh keeps this line and what follows when it rewrites the file -->'

flood_report() {
  local results=$1 node_v tcpdump_v ulogd_v trafgen_v iperf_v cpu_model tier tiers_md=""
  # Version commands exit non-zero on some builds; a missing version must not end the report.
  node_v=$(node --version || true)
  tcpdump_v=$( (tcpdump --version 2>&1 || true) | head -2 | tr '\n' ' ' | sed 's/ version / /g; s/ *$//')
  ulogd_v=$( (ulogd -V 2>&1 || true) | awk '/Version/ { print $3; exit }')
  trafgen_v=$( (trafgen -v 2>&1 || true) | awk 'NR == 1 { print $2 }')
  iperf_v=$( (iperf3 --version 2>&1 || true) | awk 'NR == 1 { print $2 }')
  cpu_model=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
  for tier in $TIERS; do
    flood_tier "$tier"
    local what gen
    case $TIER_RATE in
      max) gen="unpaced, one process" ;;
      max2) gen="unpaced, one process per core" ;;
      *) gen="-b ${TIER_RATE}pps, one process" ;;
    esac
    case $TIER_KIND in
      tcp-*) what="iperf3 -n $TIER_BYTES (one connection per round)" ;;
      *) what="trafgen, $TIER_COUNT packets, $gen" ;;
    esac
    tiers_md+="| $tier | $(flood_tier_words "$TIER_KIND") | $what | $TIER_THRESHOLD |"$'\n'
  done
  cat <<EOF
# Flood benchmark: NFLOG to a pcap file

Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`sudo scripts/bench/flood.sh\` (run took ${ELAPSED} s)${FLOOD_BUILD:+, pcap-zmq-send/recv built from ${FLOOD_BUILD_NAME:-$FLOOD_BUILD}}.
Machine: $(nproc) cores ($cpu_model), kernel $(uname -r), Node $node_v; $tcpdump_v, ulogd $ulogd_v, trafgen $trafgen_v, iperf3 $iperf_v.
Load average (1/5/15 min) at the start: $LOAD_START; at the end: $LOAD_END. Every round's 1-minute load average
(\`uptime\`, read as its flood starts) is given beside its figures. The machine is shared with other work,
so figures move between runs and with the load: the tools run interleaved, tier by tier, with the order
rotated each round, so whatever load there is falls on every tool alike; compare tools within a tier
(the ratios), not absolute figures between runs.

Setup: two private network namespaces joined by a veth pair (198.19.251.1 in the generator's, 198.19.251.2
in the capturing one). Every capturing tool runs in the capturing namespace; one NFLOG rule per kind of
traffic sends to group $GROUP there:
- UDP tiers: trafgen in the generator's namespace floods UDP to port 9;
  \`iptables -A INPUT -p udp --dport 9 -j NFLOG --nflog-group $GROUP --nflog-threshold T\`, then DROP;
- TCP tiers: \`iperf3 -c\` runs in the capturing namespace and sends to \`iperf3 -s\` in the other;
  \`iptables -A OUTPUT -p tcp -d 198.19.251.1 --dport 5201 -j NFLOG --nflog-group $GROUP --nflog-threshold T\`,
  so the rule sees the segments as the local stack hands them to IP: GSO packets up to 64 KiB with
  offloads on (\`ethtool -K DEV tso on gso on gro on\` on both ends), MTU-size segments with them off
  (\`tso off gso off gro off\` and \`ip link set DEV gso_max_segs 1\`, since local TCP builds GSO
  packets whatever the device offers). The connection is flow-controlled by the peer, not by the
  capture: what NFLOG costs slows the sender's system calls, and a tool that falls behind loses. The
  few packets of iperf3's control connection match too.

| tier | traffic | generator | T |
| --- | --- | --- | --- |
$tiers_md
"matched" is the rule's counter (\`iptables-save -c\`: packets, and bytes = whole IP packets), "in pcap"
the records in the tool's file (\`capinfos\`), loss = matched - in pcap: delivered == matched is the goal.
A GSO packet is one skb, so one match, one NFLOG message and one record. For the files that hold raw IP
(pcap-zmq-recv and ulogd2) bytes_short = matched bytes - captured bytes in the file: 0 when every packet
arrived whole; with losses it includes the lost packets' bytes (in a UDP tier, lost x packet size means
that every packet that did arrive is whole). "packets/s" and "Gbit/s" are matched packets and bytes over the generator's time (trafgen's
wall time; iperf3's own sending time). CPU is utime+stime of the capturing process(es) from
/proc/PID/stat (all threads; ${CLK_TCK} ticks/s, so +-1 tick of rounding) read just before the flood and again once it
is over, the tool's netlink socket is empty and its output file has stopped growing (at least 1.3 s: the
kernel flushes a partial NFLOG batch after its 1 s timeout); it is divided by matched packets (us/packet)
and by matched MiB (ms/MiB). A tool that loses packets also skips their work, so a lossy tool looks cheaper.
"vs tcpdump" is the CPU per matched MiB over tcpdump's (per packet gives the same ratio when the packets
have one size). The kernel's own NFLOG work (matching, copying the packet into netlink batches) runs in the
generator's context (trafgen's softirq, iperf3's system calls) and is charged to no tool.

Tools, each at its defaults apart from the group, the threshold T and a 1 s flush timeout:
- tcpdump: \`tcpdump -i nflog:$GROUP ${TCPDUMP_OPTS:+$TCPDUMP_OPTS }-w FILE -Z root\` (-B asks for a 256 MiB socket buffer; the
  kernel caps SO_RCVBUF at net.core.rmem_max, $(cat /proc/sys/net/core/rmem_max) here, and doubles it: rcvbuf below is what it got);
  "tcpdump-nb" is the same without -B. pcap_drop is its "dropped by kernel", which for nflog
  is not a packet count: libpcap tests a stale errno after each read, so after the first ENOBUFS every
  later read is counted too;
- ulogd2: stack NFLOG -> BASE -> PCAP (\`group=$GROUP\`, \`netlink_qthreshold=T\`, \`netlink_qtimeout=100\`,
  PCAP \`sync=0\`; its NFLOG \`bufsize\`, the buffer it reads a datagram into, stays at its default of
  150000 bytes), ENOBUFS = its "losing events" log lines;
- ours: \`pcap-zmq-send --libnflog-timeout $SEND_TIMEOUT ${SEND_OPTS:+$SEND_OPTS }$GROUP ipc://...\` -> \`pcap-zmq-recv ipc://... FILE\`
  in the same namespace (its default timeout is 0, the next kernel tick; 1 s here flushes as the others do); "pcap-zmq-send" is the sender's CPU alone, "+ recv" adds the receiver's.
  Counters from their final lines: enobufs, kernel_lost (NFULA_SEQ gaps: packets the kernel logged that
  never reached the sender), truncated, dropped_queue (never queued: the queue was full, --zmq-buffer
  batches or --zmq-buffer-size MiB not yet acknowledged), dropped_hwm (rate control), packets_lost / packets_unconfirmed (queued, then known
  lost / never acknowledged), send_in / send_queued / send_sent (packets_in, packets_queued and
  packets_sent = acknowledged by the receiver), recv_in / recv_written (the receiver's packets_in and
  packets_written), recv_lost_batches (sequence gaps the receiver saw).

nl_drops is the "Drops" column of /proc/net/netlink for the capturing socket: netlink datagrams (not
packets) the kernel could not queue because the socket's receive buffer was full. rcvbuf is that
socket's receive buffer at the end of the flood (ss -m "rb"; pcap-zmq-send grows its own on ENOBUFS).

## Generator alone

Nothing bound to the group (the rule still matches; the kernel copies nothing), once per tier:

| tier | packets/s | Gbit/s | load (1 min) |
| --- | --- | --- | --- |
$(awk 'NF >= 5 && $4 > 0 { printf "| %s | %.0f | %.2f | %s |\n", $1, $2 / $4, $3 * 8 / $4 / 1e9, $5 }' <<<"$CALIB")

EOF
  awk -F'\t' -v tck="$CLK_TCK" -v tdopts="$TCPDUMP_OPTS" -f - "$results" <<'AWK'
function name(t, second) {
  if (t == "tcpdump") return "tcpdump " (tdopts != "" ? tdopts " " : "") "-w"
  if (t == "tcpdump-nb") return "tcpdump -w (default buffer)"
  if (t == "ulogd") return "ulogd2 PCAP"
  return second ? "pcap-zmq-send + recv" : "pcap-zmq-send"
}
function us(ticks, n) { return n > 0 ? ticks / tck * 1e6 / n : 0 }
function msmib(ticks, bytes) { return bytes > 0 ? ticks / tck * 1e3 / (bytes / 1048576) : 0 }
function median(key,   n, i, j, v, a) {
  n = cnt[key]
  for (i = 1; i <= n; i++) a[i] = vals[key, i]
  for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
  if (n == 0) return 0
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function add(key, v) { vals[key, ++cnt[key]] = v }
# Counters summed over rounds; rcvbuf is a size, so its largest value.
function summed(k,   n, i, ks, out) {
  n = split(keys[k], ks, " ")
  for (i = 1; i <= n; i++) out = out (i > 1 ? ", " : "") ks[i] "=" sums[k, ks[i]]
  return out
}
function ratio(v, base) { return base > 0 ? sprintf("%.2fx", v / base) : "-" }
function gbit(bytes, secs) { return secs > 0 ? bytes * 8 / secs / 1e9 : 0 }
function row(tier, round, label, pps, gb, m, p, cpu, cpumib, base, load, extra) {
  detail = detail sprintf("| %s | %s | %s | %.0f | %.2f | %d | %d | %d | %.3f | %.3f | %s | %s | %s |\n", tier, round, label, pps, gb, m, p, m - p, cpu, cpumib, ratio(cpumib, base), load, extra)
}
{
  tier = $1; round = $2; tool = $3; secs = $4; m = $5; mb = $6; p = $7; load = $11
  if (!(tier in seenTier)) { seenTier[tier] = 1; tiers[++nt] = tier }
  r[NR] = $0
  if (tool == "tcpdump") base[tier, round] = msmib($9, mb)
  labels = (tool == "ours") ? 2 : 1
  for (s = 0; s < labels; s++) {
    label = name(tool, s)
    k = tier SUBSEP label
    if (!(k in seen)) { seen[k] = 1; order[tier, ++nl[tier]] = label }
    ticks = s ? $9 + $10 : $9
    add(k SUBSEP "cpu", us(ticks, m))
    add(k SUBSEP "mib", msmib(ticks, mb))
    add(k SUBSEP "pps", secs > 0 ? m / secs : 0)
    add(k SUBSEP "gbit", gbit(mb, secs))
    if (!(k in lmin) || load < lmin[k]) lmin[k] = load
    if (!(k in lmax) || load > lmax[k]) lmax[k] = load
    matched[k] += m; lost[k] += m - p; runs[k]++
    nkv = split($12, kv, " ")
    for (q = 1; q <= nkv; q++) {
      split(kv[q], pair, "=")
      if (!((k, pair[1]) in sums)) { keys[k] = keys[k] (keys[k] == "" ? "" : " ") pair[1]; sums[k, pair[1]] = 0 }
      if (pair[1] == "rcvbuf") { if (pair[2] + 0 > sums[k, pair[1]]) sums[k, pair[1]] = pair[2] + 0 }
      else sums[k, pair[1]] += pair[2]
    }
  }
}
END {
  for (i = 1; i <= NR; i++) {
    split(r[i], f, "\t")
    b = base[f[1], f[2]]
    ex = f[12]; gsub(/ /, ", ", ex)
    pps = f[4] > 0 ? f[5] / f[4] : 0
    gb = gbit(f[6], f[4])
    row(f[1], f[2], name(f[3], 0), pps, gb, f[5], f[7], us(f[9], f[5]), msmib(f[9], f[6]), b, f[11], ex)
    if (f[3] == "ours") row(f[1], f[2], name(f[3], 1), pps, gb, f[5], f[7], us(f[9] + f[10], f[5]), msmib(f[9] + f[10], f[6]), b, f[11], "as above")
  }
  print "## Summary (median over rounds; loss summed)\n"
  print "| tier | tool | packets/s | Gbit/s | matched | lost | loss % | CPU us/packet | CPU ms/MiB | vs tcpdump | load (1 min) | counters, summed over rounds |"
  print "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  for (i = 1; i <= nt; i++) {
    tier = tiers[i]
    tb = median(tier SUBSEP name("tcpdump", 0) SUBSEP "mib")
    for (j = 1; j <= nl[tier]; j++) {
      k = tier SUBSEP order[tier, j]
      c = median(k SUBSEP "mib")
      med[k] = c
      printf "| %s | %s | %.0f | %.2f | %d | %d | %.3f | %.3f | %.3f | %s | %s-%s | %s |\n", tier, order[tier, j], median(k SUBSEP "pps"), median(k SUBSEP "gbit"), matched[k], lost[k], matched[k] ? 100 * lost[k] / matched[k] : 0, median(k SUBSEP "cpu"), c, ratio(c, tb), lmin[k], lmax[k], order[tier, j] == "pcap-zmq-send + recv" ? "as above" : summed(k)
    }
  }
  print "\n## Targets\n"
  for (i = 1; i <= nt; i++) {
    tier = tiers[i]
    kt = tier SUBSEP name("tcpdump", 0); ks = tier SUBSEP "pcap-zmq-send"
    tb = med[kt]; s1 = med[ks]; s2 = med[tier SUBSEP "pcap-zmq-send + recv"]
    lo = lost[ks]
    if (tb == 0 || runs[ks] == 0) continue
    others = sprintf("tcpdump lost %d", lost[kt])
    if (runs[tier SUBSEP "ulogd2 PCAP"]) others = others sprintf(", ulogd2 lost %d", lost[tier SUBSEP "ulogd2 PCAP"])
    printf "- tier %s: delivered == matched: %s (pcap-zmq-send -> recv lost %d of %d; %s). ", tier, lo == 0 ? "**met**" : "**not met**", lo, matched[ks], others
    printf "Send alone at or below tcpdump's CPU/MiB: %s (%.2fx). ", s1 <= tb ? "**met**" : "**not met**", s1 / tb
    printf "Send + recv within 2x of tcpdump: %s (%.2fx).\n", s2 <= 2 * tb ? "**met**" : "**not met**", s2 / tb
  }
  # Where our pipeline lost packets, from its own counters and the kernel's, summed over the rounds.
  hdr = 0
  for (i = 1; i <= nt; i++) {
    tier = tiers[i]; ks = tier SUBSEP "pcap-zmq-send"
    if (!runs[ks] || lost[ks] == 0) continue
    if (!hdr++) {
      print "\n## Where pcap-zmq-send -> pcap-zmq-recv lost packets (summed over the rounds)\n"
      print "| tier | matched | lost | socket overrun: nl_drops (datagrams) / enobufs | kernel_lost (NFULA_SEQ gaps) | not numbered (matched - send_in - kernel_lost) | truncated | dropped_queue | dropped_hwm | packets_lost / unconfirmed | sent - recv_in | recv_in - recv_written | recv_written - in pcap |"
      print "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    }
    S = ks
    printf "| %s | %d | %d | %d / %d | %d | %d | %d | %d | %d | %d / %d | %d | %d | %d |\n", tier, matched[S], lost[S], sums[S, "nl_drops"], sums[S, "enobufs"], sums[S, "kernel_lost"], matched[S] - sums[S, "send_in"] - sums[S, "kernel_lost"], sums[S, "truncated"], sums[S, "dropped_queue"], sums[S, "dropped_hwm"], sums[S, "packets_lost"], sums[S, "packets_unconfirmed"], sums[S, "send_sent"] - sums[S, "recv_in"], sums[S, "recv_in"] - sums[S, "recv_written"], sums[S, "recv_written"] - (matched[S] - lost[S])
  }
  print "\n## Every round\n"
  print "| tier | round | tool | packets/s | Gbit/s | matched | in pcap | loss | CPU us/packet | CPU ms/MiB | vs tcpdump (same round) | load (1 min) | counters |"
  print "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  printf "%s", detail
}
AWK
}
