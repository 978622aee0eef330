/**
 * The TPACKET_V3 receive ring (linux/if_packet.h, Documentation/networking/packet_mmap.rst):
 * field offsets, status bits, and the walk over one retired block. Pure Buffer code with explicit
 * offsets, so a synthetic ring in a test exercises exactly what a mapped one does.
 *
 * A block is a struct tpacket_block_desc followed by frames; each frame is a struct tpacket3_hdr,
 * the struct sockaddr_ll at TPACKET_ALIGN(sizeof(struct tpacket3_hdr)), then the packet at tp_mac.
 */
import { copyBytes, viewOf } from '../util/byte-view.js'

/** struct tpacket_block_desc with its struct tpacket_hdr_v1 (all u32 little-endian on x86/arm). */
export const BLOCK_VERSION = 0
export const BLOCK_OFFSET_TO_PRIV = 4
export const BLOCK_STATUS = 8
export const BLOCK_NUM_PKTS = 12
export const BLOCK_FIRST_PKT = 16
export const BLOCK_LEN = 20
export const BLOCK_SEQ = 24
/** sizeof(struct tpacket_block_desc), already TPACKET_ALIGNed: where the first frame goes with no private area. */
export const BLOCK_HEADER = 48

/** struct tpacket3_hdr. */
export const TP_NEXT_OFFSET = 0
export const TP_SEC = 4
export const TP_NSEC = 8
export const TP_SNAPLEN = 12
export const TP_LEN = 16
export const TP_STATUS = 20
export const TP_MAC = 24
export const TP_NET = 26
export const TP_RXHASH = 28
export const TP_VLAN_TCI = 32
export const TP_VLAN_TPID = 36
/** TPACKET_ALIGN(sizeof(struct tpacket3_hdr)): where struct sockaddr_ll starts. */
export const TP_SLL = 48

/** struct sockaddr_ll, relative to TP_SLL. */
export const SLL_FAMILY = 0
export const SLL_PROTOCOL = 2
export const SLL_IFINDEX = 4
export const SLL_HATYPE = 8
export const SLL_PKTTYPE = 10
export const SLL_HALEN = 11
export const SLL_ADDR = 12
export const SLL_SIZE = 20
/** TPACKET3_HDRLEN: the least tp_mac can be. */
export const TPACKET3_HDRLEN = TP_SLL + SLL_SIZE

export const TP_STATUS_KERNEL = 0
export const TP_STATUS_USER = 1 << 0
export const TP_STATUS_VLAN_VALID = 1 << 4
export const TP_STATUS_BLK_TMO = 1 << 5
export const TP_STATUS_VLAN_TPID_VALID = 1 << 6

/** sll_pkttype values (linux/if_packet.h). */
export const PACKET_HOST = 0
export const PACKET_OUTGOING = 4

export const ETH_P_8021Q = 0x8100
/** The 802.1Q/802.1ad tag goes after the two MAC addresses. */
const VLAN_OFFSET = 12
const VLAN_TAG_LEN = 4
/** LINKTYPE_LINUX_SLL2's header. */
export const SLL2_HDR_LEN = 20

/** How the stored frame becomes the captured one. */
export const FRAME_AS_IS = 0
/** Ethernet: the kernel took the outer VLAN tag into the ring's metadata; put it back. */
export const FRAME_ETHERNET = 1
/** Cooked: an SLL2 header built from the sockaddr_ll goes in front of the network-layer packet. */
export const FRAME_SLL2 = 2

export interface WalkConfig {
  /** FRAME_AS_IS, FRAME_ETHERNET or FRAME_SLL2. */
  mode: number
  /** Largest captured frame, after any insertion (--snaplen). */
  snaplen: number
  /** What the kernel was asked to keep of each packet (the filter's return value). */
  kernelSnaplen: number
  /** Drop the outgoing copies: on loopback every packet is seen going out and coming in, and --direction in. */
  skipOutgoing: boolean
  /** --direction out. */
  onlyOutgoing: boolean
}

export interface WalkStats {
  /** Blocks walked. */
  blocks: number
  /** Frames handed on. */
  frames: number
  /** Frames the ring cut below the snap length (the block had no room for the whole packet). */
  truncated: number
  /** Frames whose header or data ran past their block, and the frames after them in it: lost. */
  badFrames: number
  /** Frames left out by direction (the kernel filter normally keeps them out already). */
  skipped: number
}

export function createWalkStats(): WalkStats {
  return { blocks: 0, frames: 0, truncated: 0, badFrames: 0, skipped: 0 }
}

/** One frame of a block, reused for every frame: where its bytes are and what goes around them. */
export interface RingFrame {
  tsSec: number
  tsNsec: number
  /** Length on the wire, with the re-inserted tag or the SLL2 header. */
  origLen: number
  /** Bytes the captured frame has, with the insertion, at most the snap length. */
  caplen: number
  /** Offset in the ring of the stored frame (tp_mac). */
  start: number
  /** Offset in the ring of the frame's struct tpacket3_hdr. */
  hdr: number
  /** FRAME_AS_IS when nothing is inserted (a VLAN-less Ethernet frame too), else the mode. */
  insert: number
  vlanTpid: number
  vlanTci: number
  pkttype: number
  /** The ring's bytes as a DataView (lib/util/byte-view.ts), set by walkBlock for writeFrame. */
  view: DataView
}

export function createRingFrame(): RingFrame {
  return { tsSec: 0, tsNsec: 0, origLen: 0, caplen: 0, start: 0, hdr: 0, insert: FRAME_AS_IS, vlanTpid: 0, vlanTci: 0, pkttype: 0, view: new DataView(new ArrayBuffer(0)) }
}

/**
 * Walks the frames of the retired block at `block` (of `blockSize` bytes) and calls `onFrame` for
 * each one kept. Every offset is checked against the block's used length before it is read: a
 * frame that runs past it ends the walk of that block, counted in badFrames with the frames it
 * hides, so a corrupt block costs its packets and never a read outside the block. Returns the
 * frames handed on.
 */
export function walkBlock(ring: Buffer, block: number, blockSize: number, cfg: WalkConfig, f: RingFrame, stats: WalkStats, onFrame: (f: RingFrame) => void): number {
  stats.blocks += 1
  // The frame keeps the ring's view from block to block: one per ring, not one per block.
  if (f.view.buffer !== ring.buffer || f.view.byteOffset !== ring.byteOffset || f.view.byteLength !== ring.length) f.view = viewOf(ring)
  const v = f.view
  const count = v.getUint32(block + BLOCK_NUM_PKTS, true)
  const used = v.getUint32(block + BLOCK_LEN, true)
  const limit = block + (used > 0 && used <= blockSize ? used : blockSize)
  let o = block + v.getUint32(block + BLOCK_FIRST_PKT, true)
  let handed = 0
  for (let i = 0; i < count; i++) {
    if (o < block + BLOCK_HEADER || o + TPACKET3_HDRLEN > limit) {
      stats.badFrames += count - i
      break
    }
    const snap = v.getUint32(o + TP_SNAPLEN, true)
    const mac = v.getUint16(o + TP_MAC, true)
    if (mac < TPACKET3_HDRLEN || o + mac + snap > limit) {
      stats.badFrames += count - i
      break
    }
    const next = v.getUint32(o + TP_NEXT_OFFSET, true)
    const pkttype = v.getUint8(o + TP_SLL + SLL_PKTTYPE)
    const outgoing = pkttype === PACKET_OUTGOING
    if (outgoing ? cfg.skipOutgoing : cfg.onlyOutgoing) {
      stats.skipped += 1
    } else {
      const len = v.getUint32(o + TP_LEN, true)
      const status = v.getUint32(o + TP_STATUS, true)
      if (snap < Math.min(len, cfg.kernelSnaplen)) stats.truncated += 1
      let extra = 0
      f.insert = FRAME_AS_IS
      if (cfg.mode === FRAME_ETHERNET) {
        const tci = v.getUint32(o + TP_VLAN_TCI, true)
        // Kernels before TP_STATUS_VLAN_VALID only said so by a non-zero TCI (libpcap's VLAN_VALID).
        if (((status & TP_STATUS_VLAN_VALID) !== 0 || tci !== 0) && snap >= VLAN_OFFSET) {
          const tpid = v.getUint16(o + TP_VLAN_TPID, true)
          f.insert = FRAME_ETHERNET
          f.vlanTci = tci & 0xffff
          f.vlanTpid = (status & TP_STATUS_VLAN_TPID_VALID) !== 0 || tpid !== 0 ? tpid : ETH_P_8021Q
          extra = VLAN_TAG_LEN
        }
      } else if (cfg.mode === FRAME_SLL2) {
        f.insert = FRAME_SLL2
        extra = SLL2_HDR_LEN
      }
      f.tsSec = v.getUint32(o + TP_SEC, true)
      f.tsNsec = v.getUint32(o + TP_NSEC, true)
      f.origLen = len + extra
      f.caplen = Math.min(cfg.snaplen, snap + extra)
      f.start = o + mac
      f.hdr = o
      f.pkttype = pkttype
      stats.frames += 1
      handed += 1
      onFrame(f)
    }
    if (i + 1 < count) {
      // The last frame's tp_next_offset is 0; any other must move forward inside the block.
      if (next === 0 || o + next >= limit) {
        stats.badFrames += count - i - 1
        break
      }
      o += next
    }
  }
  return handed
}

/** End in the ring of the frame's stored bytes (without what writeFrame inserts), for reading it in place. */
export function storedFrameEnd(f: RingFrame): number {
  const inserted = f.insert === FRAME_ETHERNET ? VLAN_TAG_LEN : f.insert === FRAME_SLL2 ? SLL2_HDR_LEN : 0
  return f.start + Math.max(0, f.caplen - inserted)
}

/**
 * Writes the captured frame `f` (f.caplen bytes) into `dst` at `o`, straight from the ring, with
 * the VLAN tag or the SLL2 header put in on the way: the ring itself is never written, as the
 * kernel owns its bytes again once the block is released. Returns the end offset. `dv` is a view of
 * `dst` (made here when not given: pass one on a per-packet path).
 */
export function writeFrame(ring: Buffer, f: RingFrame, dst: Buffer, o: number, dv: DataView = viewOf(dst)): number {
  const end = o + f.caplen
  const sv = f.view
  if (f.insert === FRAME_AS_IS) return copyBytes(dst, dv, o, ring, sv, f.start, f.start + f.caplen)
  if (f.insert === FRAME_ETHERNET) {
    o = copyBytes(dst, dv, o, ring, sv, f.start, f.start + Math.min(VLAN_OFFSET, f.caplen))
    const tag = Math.min(VLAN_TAG_LEN, end - o)
    if (tag > 0) o = writeTag(dst, o, tag, f.vlanTpid, f.vlanTci)
    const rest = end - o
    return rest > 0 ? copyBytes(dst, dv, o, ring, sv, f.start + VLAN_OFFSET, f.start + VLAN_OFFSET + rest) : o
  }
  const head = Math.min(SLL2_HDR_LEN, f.caplen)
  writeSll2(ring, f.hdr + TP_SLL, dst, o, head)
  o += head
  const rest = end - o
  return rest > 0 ? copyBytes(dst, dv, o, ring, sv, f.start, f.start + rest) : o
}

/** 802.1Q/802.1ad tag: TPID then TCI, big-endian; only the first `n` bytes when the snap length cuts it. */
function writeTag(dst: Buffer, o: number, n: number, tpid: number, tci: number): number {
  const word = ((tpid & 0xffff) * 0x10000 + (tci & 0xffff))
  for (let k = 0; k < n; k++) dst[o + k] = Math.floor(word / 2 ** (24 - 8 * k)) & 0xff
  return o + n
}

/**
 * LINKTYPE_LINUX_SLL2's header from the struct sockaddr_ll at `sll`, as libpcap builds it:
 * protocol (already big-endian), reserved, ifindex, ARPHRD type, packet type, address length,
 * 8 address bytes. Only the first `n` bytes when the snap length is shorter than the header.
 */
function writeSll2(ring: Buffer, sll: number, dst: Buffer, o: number, n: number): void {
  const h = sll2Scratch
  h[0] = ring[sll + SLL_PROTOCOL]!
  h[1] = ring[sll + SLL_PROTOCOL + 1]!
  h.writeUInt16BE(0, 2)
  h.writeUInt32BE(ring.readInt32LE(sll + SLL_IFINDEX) >>> 0, 4)
  h.writeUInt16BE(ring.readUInt16LE(sll + SLL_HATYPE), 8)
  h[10] = ring[sll + SLL_PKTTYPE]!
  h[11] = ring[sll + SLL_HALEN]!
  for (let k = 0; k < 8; k++) h[12 + k] = ring[sll + SLL_ADDR + k]!
  for (let k = 0; k < n; k++) dst[o + k] = h[k]!
}
const sll2Scratch = Buffer.alloc(SLL2_HDR_LEN)

