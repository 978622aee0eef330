"""A Python plugin in PokieStream's style: an async receiver(packet_log[, config]).

Run: pcap-zmq-plugin - examples/plugins/summary.py
"""
count = 0


async def receiver(event, config=None):
    global count
    count += 1
    ports = "" if event["src_port"] is None else f":{event['src_port']} -> {event['dst_ip']}:{event['dst_port']}"
    dst = f" -> {event['dst_ip']}" if event["src_port"] is None else ""
    print(f"#{count} {event['state']} {event['protocol_name']} {event['src_ip']}{ports}{dst}")
