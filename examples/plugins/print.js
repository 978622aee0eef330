// An async receiver, as PokieStream's Python plugins are: one line per event on stdout.
// Run: pcap-zmq-track - < capture.pcap | pcap-zmq-plugin - examples/plugins/print.js
export async function receiver(event, config) {
  const ports = event.src_port === null ? '' : `:${event.src_port} -> ${event.dst_ip}:${event.dst_port}`
  const dst = event.src_port === null ? ` -> ${event.dst_ip}` : ''
  const tag = config?.plugin?.tag ? `${config.plugin.tag} ` : ''
  process.stdout.write(`${tag}${event.state} ${event.protocol_name} ${event.src_ip}${ports}${dst} ${event.session_id}\n`)
}
