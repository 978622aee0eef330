#!/usr/bin/env bash
# Every benchmark, in turn (not tests: they measure, they do not pass or fail). Run as root on an
# otherwise idle machine; each writes its own docs/benchmarks-*.md section or prints its figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup
echo "== send/recv per-packet paths (in process)"; node dist/scripts/bench/send-path.js 3
echo "== decoder"; node dist/scripts/bench/decode.js
echo "== decode + track beside tcpdump and tshark"; node --expose-gc dist/scripts/bench/track.js 1000000
if [[ -f dist/scripts/bench/plugin.js ]]; then echo "== plugin runner"; node dist/scripts/bench/plugin.js; fi
echo "== trackers on a shard-published stream"; bash scripts/bench/shards.sh 10000 100
echo "== event sinks: postgres, influxdb, clickhouse"; node dist/scripts/bench/sink-throughput.js
echo "== NFLOG flood: tcpdump, ulogd2, pcap-zmq-send -> pcap-zmq-recv"; bash scripts/bench/flood.sh
echo "== interface capture flood: tcpdump -i, netsniff-ng, pcap-zmq-send iface: -> pcap-zmq-recv"; bash scripts/bench/iface-flood.sh
