# Markdown report for scripts/bench/flood.sh. Sourced; reads the settings flood.sh defined.
# Input rows (tab-separated): rate round tool seconds matched in_pcap ticks_main ticks_second extra

flood_report() {
  local results=$1 node_v tcpdump_v ulogd_v trafgen_v cpu_model
  # Version commands exit non-zero on some builds; a missing version must not end the report.
  node_v=$(node --version || true)
  tcpdump_v=$( (tcpdump --version 2>&1 || true) | head -2 | tr '\n' ' ' | sed 's/ version / /g; s/ *$//')
  ulogd_v=$( (ulogd -V 2>&1 || true) | awk '/Version/ { print $3; exit }')
  trafgen_v=$( (trafgen -v 2>&1 || true) | awk 'NR == 1 { print $2 }')
  cpu_model=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
  cat <<EOF
# Flood benchmark: NFLOG to a pcap file

Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`sudo scripts/bench/flood.sh\` (run took ${ELAPSED} s)${FLOOD_BUILD:+, pcap-zmq-send/recv from $FLOOD_BUILD}.
Machine: $(nproc) cores ($cpu_model), kernel $(uname -r), Node $node_v; $tcpdump_v, ulogd $ulogd_v, trafgen $trafgen_v.
Load average (1/5/15 min) at the start: $LOAD_START; at the end: $LOAD_END. The machine is shared with other work, so
figures move between runs; the tools run interleaved (order rotated each round) so they share the same conditions.

Setup: two private network namespaces joined by a veth pair (198.19.251.1 -> 198.19.251.2). trafgen sends
$COUNT small UDP packets per flood (60-byte frames, 46-byte IP packets, to port 9). In the receiving namespace
\`iptables -A INPUT -p udp --dport 9 -j NFLOG --nflog-group $GROUP --nflog-threshold T\`, then DROP; T is $BASE_THRESHOLD
unless the tier names another ("max/1000": T = 1000).
"matched" is that rule's packet counter (\`iptables -L -v -x\`), "in pcap" the records in the tool's file
(\`capinfos -c\`), loss = matched - in pcap. CPU is utime+stime of the capturing process(es) from
/proc/PID/stat (all threads; ${CLK_TCK} ticks/s, so +-1 tick of rounding) read just before the flood and again once it
is over, the tool's netlink socket is empty and its output file has stopped growing (at least 1.3 s: the
kernel flushes a partial NFLOG batch after its 1 s timeout).
The kernel's own NFLOG work (matching, building the netlink batches) runs in the generator's softirq and is
charged to no tool. Tiers: a number is trafgen \`-b Npps\` with one generator process; "max" is one unpaced
generator process (the other core is left to the capture tools); "max2" is one unpaced process per core.
"generator pps" is matched packets over trafgen's wall time. CPU per packet divides by matched packets
(a tool that loses packets also skips their work, so a lossy tool looks slightly cheaper).

Tools, each at its defaults apart from the group, the threshold T and a 1 s flush timeout:
- tcpdump: \`tcpdump -i nflog:$GROUP -w FILE -Z root\`; pcap_drop is its "dropped by kernel", which for nflog
  is not a packet count: libpcap tests a stale errno after each read, so after the first ENOBUFS every
  later read is counted too;
- ulogd2: stack NFLOG -> BASE -> PCAP (\`group=$GROUP\`, \`netlink_qthreshold=T\`, \`netlink_qtimeout=100\`,
  PCAP \`sync=0\`), ENOBUFS = its "losing events" log lines;
- ours: \`pcap-zmq-send --libnflog-timeout 1 ${SEND_OPTS:+$SEND_OPTS }$GROUP ipc://...\` -> \`pcap-zmq-recv ipc://... FILE\`
  in the same namespace; "pcap-zmq-send" is the sender's CPU alone, "+ recv" adds the receiver's;
  send_in / recv_written are their packets_in / packets_written counters (where a loss happened).

nl_drops is the "Drops" column of /proc/net/netlink for the capturing socket: netlink batches (not
packets) the kernel could not queue because the socket's receive buffer was full.

Generator alone (rule matching and dropping, nothing bound to the group):
$(awk 'NF == 3 && $3 > 0 { printf "%s%s: %.0f pps", (n++ ? "; " : ""), $1, $2 / $3 } END { print "." }' <<<"$CALIB")

EOF
  awk -F'\t' -v tck="$CLK_TCK" -f - "$results" <<'AWK'
function name(t, second) {
  if (t == "tcpdump") return "tcpdump -w"
  if (t == "ulogd") return "ulogd2 PCAP"
  return second ? "pcap-zmq-send + recv" : "pcap-zmq-send"
}
function us(ticks, n) { return n > 0 ? ticks / tck * 1e6 / n : 0 }
function median(key,   n, i, j, v, a) {
  n = cnt[key]
  for (i = 1; i <= n; i++) a[i] = vals[key, i]
  for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
  if (n == 0) return 0
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function add(key, v) { vals[key, ++cnt[key]] = v }
function summed(k,   n, i, ks, out) {
  n = split(keys[k], ks, " ")
  for (i = 1; i <= n; i++) out = out (i > 1 ? ", " : "") ks[i] "=" sums[k, ks[i]]
  return out
}
function ratio(v, base) { return base > 0 ? sprintf("%.2fx", v / base) : "-" }
function row(rate, round, label, pps, m, p, cpu, base, extra) {
  detail = detail sprintf("| %s | %s | %s | %.0f | %d | %d | %d | %.3f | %s | %s |\n", rate, round, label, pps, m, p, m - p, cpu, ratio(cpu, base), extra)
}
{
  rate = $1; round = $2; tool = $3; secs = $4; m = $5; p = $6
  if (!(rate in seenRate)) { seenRate[rate] = 1; rates[++nr] = rate }
  r[NR] = $0
  cpuA = us($7, m); cpuB = us($7 + $8, m)
  if (tool == "tcpdump") base[rate, round] = cpuA
  labels = (tool == "ours") ? 2 : 1
  for (s = 0; s < labels; s++) {
    label = name(tool, s)
    k = rate SUBSEP label
    if (!(k in seen)) { seen[k] = 1; order[rate, ++nl[rate]] = label }
    add(k SUBSEP "cpu", s ? cpuB : cpuA)
    add(k SUBSEP "pps", secs > 0 ? m / secs : 0)
    matched[k] += m; lost[k] += m - p; runs[k]++
    nkv = split($9, kv, " ")
    for (q = 1; q <= nkv; q++) {
      split(kv[q], pair, "=")
      if (!((k, pair[1]) in sums)) keys[k] = keys[k] (keys[k] == "" ? "" : " ") pair[1]
      sums[k, pair[1]] += pair[2]
    }
  }
}
END {
  for (i = 1; i <= NR; i++) {
    split(r[i], f, "\t")
    b = base[f[1], f[2]]
    ex = f[9]; gsub(/ /, ", ", ex)
    pps = f[4] > 0 ? f[5] / f[4] : 0
    row(f[1], f[2], name(f[3], 0), pps, f[5], f[6], us(f[7], f[5]), b, ex)
    if (f[3] == "ours") row(f[1], f[2], name(f[3], 1), pps, f[5], f[6], us(f[7] + f[8], f[5]), b, ex)
  }
  print "## Summary (median over rounds; loss summed)\n"
  print "| tier | tool | generator pps | matched | lost | loss % | CPU us/packet | vs tcpdump | counters, summed over rounds |"
  print "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  for (i = 1; i <= nr; i++) {
    rate = rates[i]
    tb = median(rate SUBSEP "tcpdump -w" SUBSEP "cpu")
    for (j = 1; j <= nl[rate]; j++) {
      k = rate SUBSEP order[rate, j]
      c = median(k SUBSEP "cpu")
      med[k] = c
      printf "| %s | %s | %.0f | %d | %d | %.3f | %.3f | %s | %s |\n", rate, order[rate, j], median(k SUBSEP "pps"), matched[k], lost[k], matched[k] ? 100 * lost[k] / matched[k] : 0, c, ratio(c, tb), summed(k)
    }
  }
  print "\n## Targets\n"
  for (i = 1; i <= nr; i++) {
    rate = rates[i]
    tb = med[rate SUBSEP "tcpdump -w"]
    s1 = med[rate SUBSEP "pcap-zmq-send"]; s2 = med[rate SUBSEP "pcap-zmq-send + recv"]
    lo = lost[rate SUBSEP "pcap-zmq-send"]
    if (tb == 0 || runs[rate SUBSEP "pcap-zmq-send"] == 0) continue
    others = sprintf("tcpdump lost %d", lost[rate SUBSEP "tcpdump -w"])
    if (runs[rate SUBSEP "ulogd2 PCAP"]) others = others sprintf(", ulogd2 lost %d", lost[rate SUBSEP "ulogd2 PCAP"])
    printf "- tier %s: zero loss: %s (pcap-zmq-send lost %d of %d; %s). ", rate, lo == 0 ? "**met**" : "**not met**", lo, matched[rate SUBSEP "pcap-zmq-send"], others
    printf "Send alone at or below tcpdump's CPU/packet: %s (%.2fx). ", s1 <= tb ? "**met**" : "**not met**", s1 / tb
    printf "Send + recv within 2x of tcpdump: %s (%.2fx).\n", s2 <= 2 * tb ? "**met**" : "**not met**", s2 / tb
  }
  print "\n## Every round\n"
  print "| tier | round | tool | generator pps | matched | in pcap | loss | CPU us/packet | vs tcpdump (same round) | counters |"
  print "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  printf "%s", detail
}
AWK
}
