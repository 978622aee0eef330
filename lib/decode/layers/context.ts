/**
 * The state shared by the layer decoders of decodePacket while building one packet's object tree:
 * the packet object, the checksum context the IP layer leaves for its transport, and where decoding stopped.
 */
export type FieldValue = string | number | boolean | null | FieldValue[] | { [key: string]: FieldValue }
export type LayerObject = { [attribute: string]: FieldValue }

/**
 * One decoded packet: protocol keys ("Ethernet", "IPv4", "TCP"...) in the order the layers were
 * found, each an object of attributes, plus "error" when decoding stopped early.
 */
export interface DecodedPacket {
  [protocol: string]: LayerObject | string | undefined
  error?: string
}

export interface PacketContext {
  pkt: DecodedPacket
  data: Buffer
  /** IP context for transport checksums: version 0 when there is no IP layer. */
  ipVersion: 0 | 4 | 6
  srcOff: number
  dstOff: number
  /** Upper-layer length stated by the IP header, and whether all of it is captured and unfragmented. */
  l4Length: number
  complete: boolean
  /** A first fragment or an offload super-packet: no transport checksum can be checked. */
  partial: boolean
}

export function createContext(data: Buffer): PacketContext {
  return { pkt: {}, data, ipVersion: 0, srcOff: -1, dstOff: -1, l4Length: 0, complete: false, partial: false }
}

/**
 * Adds a layer object under `name`; a protocol seen again in the same packet (stacked VLAN tags,
 * tunnels) gets "_2", "_3"... so no layer overwrites another.
 */
export function addLayer(ctx: PacketContext, name: string, layer: LayerObject): LayerObject {
  let key = name
  for (let n = 2; ctx.pkt[key] !== undefined; n++) key = `${name}_${n}`
  ctx.pkt[key] = layer
  return layer
}

/** Records where and why decoding stopped ("TCP: truncated header at offset 34"); the first stop wins. */
export function stop(ctx: PacketContext, layer: string, reason: string, offset: number): void {
  if (ctx.pkt.error === undefined) ctx.pkt.error = `${layer}: ${reason} at offset ${offset}`
}
