#!/bin/sh
# An exec: plugin: any program reading NDJSON events on stdin. Counts events per state and
# prints the totals when the input ends.
# Run: pcap-zmq-plugin - 'exec:sh examples/plugins/count-states.sh'
awk '
  match($0, /"state":"[A-Z]+"/) { n[substr($0, RSTART + 9, RLENGTH - 10)]++ }
  END { for (s in n) printf "%s %d\n", s, n[s] }
' | sort
