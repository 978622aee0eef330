-- A Lua plugin: one line per event; absent fields (ICMP ports, payload) are nil.
-- Run: pcap-zmq-plugin - examples/plugins/summary.lua
local count = 0

function receiver(event, config)
  count = count + 1
  local from = event.src_ip
  local to = event.dst_ip
  if event.src_port ~= nil then from = from .. ":" .. event.src_port end
  if event.dst_port ~= nil then to = to .. ":" .. event.dst_port end
  local extra = ""
  if event.payload ~= nil and event.payload.dns ~= nil then extra = " dns=" .. event.payload.dns end
  print(string.format("#%d %s %s %s -> %s%s", count, event.state, event.protocol_name, from, to, extra))
end
