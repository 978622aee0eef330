import {
  BLOCK_FIRST_PKT, BLOCK_HEADER, BLOCK_LEN, BLOCK_NUM_PKTS, BLOCK_STATUS, BLOCK_VERSION, SLL_ADDR, SLL_FAMILY,
  SLL_HALEN, SLL_HATYPE, SLL_IFINDEX, SLL_PKTTYPE, SLL_PROTOCOL, TP_LEN, TP_MAC, TP_NET, TP_NEXT_OFFSET, TP_NSEC,
  TP_SEC, TP_SLL, TP_SNAPLEN, TP_STATUS, TP_STATUS_USER, TP_VLAN_TCI, TP_VLAN_TPID,
} from '../../lib/capture/tpacket.js'

/** One frame as the kernel would store it in a TPACKET_V3 block. */
export interface SyntheticFrame {
  /** The bytes stored at tp_mac (tp_snaplen of them). */
  data: Buffer
  /** tp_len; data.length when not given. */
  len?: number
  sec?: number
  nsec?: number
  status?: number
  vlanTci?: number
  vlanTpid?: number
  pkttype?: number
  /** Link header length: 14 on Ethernet (SOCK_RAW), 0 for SOCK_DGRAM. */
  maclen?: number
  protocol?: number
  ifindex?: number
  hatype?: number
  addr?: Buffer
}

const align16 = (n: number) => (n + 15) & ~15
const align8 = (n: number) => (n + 7) & ~7

/**
 * A retired block laid out as tpacket_rcv and prb_fill_curr_block lay it out: the block
 * descriptor, then each frame at an 8-byte-aligned tp_next_offset, its data at
 * tp_mac = TPACKET_ALIGN(TPACKET3_HDRLEN + max(maclen, 16)) - maclen.
 */
export function syntheticBlock(frames: SyntheticFrame[], blockSize = 1 << 16): Buffer {
  const b = Buffer.alloc(blockSize)
  b.writeUInt32LE(1, BLOCK_VERSION)
  b.writeUInt32LE(TP_STATUS_USER, BLOCK_STATUS)
  b.writeUInt32LE(frames.length, BLOCK_NUM_PKTS)
  b.writeUInt32LE(BLOCK_HEADER, BLOCK_FIRST_PKT)
  let o = BLOCK_HEADER
  frames.forEach((f, i) => {
    const maclen = f.maclen ?? 14
    const net = align16(TP_SLL + 20 + Math.max(maclen, 16))
    const mac = net - maclen
    const total = align8(mac + f.data.length)
    b.writeUInt32LE(i + 1 < frames.length ? total : 0, o + TP_NEXT_OFFSET)
    b.writeUInt32LE(f.sec ?? 1700000000 + i, o + TP_SEC)
    b.writeUInt32LE(f.nsec ?? 1000 * i, o + TP_NSEC)
    b.writeUInt32LE(f.data.length, o + TP_SNAPLEN)
    b.writeUInt32LE(f.len ?? f.data.length, o + TP_LEN)
    b.writeUInt32LE(f.status ?? TP_STATUS_USER, o + TP_STATUS)
    b.writeUInt16LE(mac, o + TP_MAC)
    b.writeUInt16LE(net, o + TP_NET)
    b.writeUInt32LE(f.vlanTci ?? 0, o + TP_VLAN_TCI)
    b.writeUInt16LE(f.vlanTpid ?? 0, o + TP_VLAN_TPID)
    const sll = o + TP_SLL
    b.writeUInt16LE(17, sll + SLL_FAMILY)
    b.writeUInt16BE(f.protocol ?? 0x0800, sll + SLL_PROTOCOL)
    b.writeInt32LE(f.ifindex ?? 7, sll + SLL_IFINDEX)
    b.writeUInt16LE(f.hatype ?? 1, sll + SLL_HATYPE)
    b[sll + SLL_PKTTYPE] = f.pkttype ?? 0
    const addr = f.addr ?? Buffer.from([2, 0, 0, 0, 0, 1])
    b[sll + SLL_HALEN] = addr.length
    addr.copy(b, sll + SLL_ADDR)
    f.data.copy(b, o + mac)
    o += total
  })
  b.writeUInt32LE(o, BLOCK_LEN)
  return b
}

/** An Ethernet frame: dst, src, ethertype, then `payload` bytes 0, 1, 2... */
export function ethernetFrame(payloadLen: number, ethertype = 0x0800, seed = 0): Buffer {
  const f = Buffer.alloc(14 + payloadLen)
  Buffer.from([0x02, 0, 0, 0, 0, 0xbb, 0x02, 0, 0, 0, 0, 0xaa]).copy(f, 0)
  f.writeUInt16BE(ethertype, 12)
  for (let i = 0; i < payloadLen; i++) f[14 + i] = (i + seed) & 0xff
  return f
}
