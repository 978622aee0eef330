import { networkInterfaces } from 'node:os'
import { captureExpression, ownTrafficExpression, type OwnConnection } from '../filter/capture-expression.js'
import { linktypeName } from '../pcap/linktypes.js'
import { openAfPacket, type AfPacketCapture, type IfaceCaptureSettings } from './afpacket.js'
import { ARPHRD } from './arphrd.js'
import { ownConnections } from './own-traffic.js'

/**
 * An iface: source as the tools open it: each interface's kernel filter expression put together
 * (the user's --bpf, the port lists, and the tool's own connections to `endpoints` left out unless
 * --capture-own-traffic), then one ring per interface.
 */
export async function openIfaceCapture(s: IfaceCaptureSettings, endpoints: string[], log: (m: string) => void, debug: boolean): Promise<AfPacketCapture> {
  const own: OwnConnection[] = []
  if (!s.captureOwnTraffic) {
    for (const endpoint of endpoints) {
      const found = await ownConnections(endpoint)
      if (found.unresolved !== null) log(`cannot resolve ${found.unresolved} now: its connection is not left out of the capture (use an address in the endpoint)`)
      own.push(...found.conns)
    }
  }
  const local = localAddresses()
  const excludedOn: string[] = []
  const exprs = new Map<string, string>()
  const cap = openAfPacket({
    ...s.ring,
    ifaces: s.ifaces,
    expr: ({ name, arphrd }) => {
      // A connection to this host's own address goes over loopback, any other over the others.
      const carried = own.filter((c) => (local.has(c.remote) || c.remote.startsWith('127.') || c.remote === '::1') === (arphrd === ARPHRD.LOOPBACK))
      if (carried.length) excludedOn.push(name)
      const expr = captureExpression({ ...s.filter, exclude: ownTrafficExpression(carried) })
      exprs.set(name, expr)
      return expr
    },
  }, log)
  if (excludedOn.length) {
    const what = own.map((c) => `${c.local ?? 'this host'} <-> ${c.remote} port ${c.port}`).join(', ')
    log(`leaving its own connection out of the capture on ${excludedOn.join(',')}: tcp ${what} (--capture-own-traffic keeps it)`)
  }
  if (debug) {
    for (const i of cap.interfaces) {
      const expr = exprs.get(i.name)
      log(`capturing on ${i.name} (ifindex ${i.ifindex}, ${linktypeName(i.linktype)}): ring ${s.ring.blockCount} x ${s.ring.blockSize / 1024} KiB, snaplen ${s.ring.snaplen}, direction ${s.ring.direction}${s.ring.promisc ? ', promiscuous' : ''}${s.ring.fanout !== undefined ? `, fanout group ${s.ring.fanout}` : ''}${expr ? `, filter "${expr}"` : ''}`)
    }
  }
  return cap
}

function localAddresses(): Set<string> {
  const out = new Set<string>()
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address)
  return out
}
