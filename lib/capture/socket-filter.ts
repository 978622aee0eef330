import { compileBpfInstructions } from '../native/libpcap.js'
import { LINKTYPE } from '../pcap/linktypes.js'
import { isPipeError, userError } from '../util/errors.js'
import type { CaptureMode } from './arphrd.js'
import { PACKET_OUTGOING, SLL2_HDR_LEN } from './tpacket.js'

/**
 * The classic BPF program attached to a packet socket (SO_ATTACH_FILTER): libpcap's compilation
 * of the capture expression for the interface's link type, made to fit what the kernel shows a
 * socket filter, with the direction checked first.
 */

/** struct sock_filter / struct bpf_insn: u16 code, u8 jt, u8 jf, u32 k. */
const INSN = 8
/** BPF_MAXINSNS: the kernel refuses longer programs. */
export const BPF_MAXINSNS = 4096

const BPF_CLASS = (code: number) => code & 0x07
const BPF_MODE = (code: number) => code & 0xe0
const BPF_LD = 0x00
const BPF_LDX = 0x01
const BPF_ABS = 0x20
const BPF_IND = 0x40
const BPF_MSH = 0xa0
const LD_W_ABS = 0x20
const JEQ_K = 0x15
const RET_K = 0x06

/** SKF_AD_OFF and the ancillary fields a filter can load at negative offsets (linux/filter.h). */
const SKF_AD_OFF = 0xfffff000
const SKF_AD_PROTOCOL = 0
const SKF_AD_PKTTYPE = 4
const SKF_AD_IFINDEX = 8

export interface SocketFilterOptions {
  /** tcpdump expression; '' keeps everything (the program is then only the snap length). */
  expr: string
  linktype: number
  mode: CaptureMode
  /** The program's return value: how much of each packet the kernel keeps. */
  snaplen: number
  /** Keep only PACKET_OUTGOING (--direction out). */
  onlyOutgoing: boolean
  /** Drop PACKET_OUTGOING: loopback's second copy, or --direction in on kernels without PACKET_IGNORE_OUTGOING. */
  dropOutgoing: boolean
  iface: string
}

/**
 * Compiles the program (pcap_compile for the link type's DLT, which also returns the snap length
 * from every accepting `ret`, so the kernel cuts packets before they take ring space) and returns
 * its instructions. The direction test goes in front as three instructions: prepending keeps every
 * jump of libpcap's program valid, as BPF jumps are relative and only go forward.
 */
export function buildSocketFilter(o: SocketFilterOptions): Buffer {
  let prog: Buffer
  try {
    prog = compileBpfInstructions(o.expr, o.linktype, o.snaplen)
  } catch (err) {
    // A filter that does not compile is a configuration mistake (exit 2), as tcpdump treats it.
    if (isPipeError(err) && (err.code === 'EBPF' || err.code === 'EBPFNONE')) throw userError(`${o.iface}: ${err.message}`, 'ECONFIG')
    throw err
  }
  if (o.mode === 'cooked') fixCookedOffsets(prog, o)
  let out = prog
  if (o.onlyOutgoing || o.dropOutgoing) {
    out = Buffer.alloc(prog.length + 3 * INSN)
    writeInsn(out, 0, LD_W_ABS, 0, 0, SKF_AD_OFF + SKF_AD_PKTTYPE)
    // Outgoing: onlyOutgoing skips the reject, dropOutgoing falls into it.
    writeInsn(out, 1, JEQ_K, o.onlyOutgoing ? 1 : 0, o.onlyOutgoing ? 0 : 1, PACKET_OUTGOING)
    writeInsn(out, 2, RET_K, 0, 0, 0)
    prog.copy(out, 3 * INSN)
  }
  if (out.length / INSN > BPF_MAXINSNS) {
    throw userError(`filter "${o.expr}" compiles to ${out.length / INSN} BPF instructions for ${o.iface}; the kernel takes at most ${BPF_MAXINSNS}`, 'ECONFIG')
  }
  return out
}

function writeInsn(b: Buffer, i: number, code: number, jt: number, jf: number, k: number): void {
  b.writeUInt16LE(code, i * INSN)
  b[i * INSN + 2] = jt
  b[i * INSN + 3] = jf
  b.writeUInt32LE(k >>> 0, i * INSN + 4)
}

/**
 * libpcap's fix_offset for DLT_LINUX_SLL2: on a SOCK_DGRAM socket the filter sees the packet from
 * its network header, and the SLL2 header exists only in userland. Loads past the header move
 * back by its length; the protocol, ifindex and packet-type fields become the kernel's ancillary
 * loads. Any other header field cannot be seen in the kernel: libpcap then filters in userland,
 * here it is a configuration error naming the expression.
 */
function fixCookedOffsets(prog: Buffer, o: SocketFilterOptions): void {
  if (o.linktype !== LINKTYPE.LINUX_SLL2) return
  for (let at = 0; at < prog.length; at += INSN) {
    const code = prog.readUInt16LE(at)
    const cls = BPF_CLASS(code)
    if (cls !== BPF_LD && cls !== BPF_LDX) continue
    const mode = BPF_MODE(code)
    if (mode !== BPF_ABS && mode !== BPF_IND && mode !== BPF_MSH) continue
    const k = prog.readUInt32LE(at + 4)
    // Ancillary loads and the other negative offsets (SKF_NET_OFF, SKF_LL_OFF) stay as they are.
    if ((k | 0) < 0) continue
    let fixed: number
    if (k >= SLL2_HDR_LEN) fixed = k - SLL2_HDR_LEN
    else if (k === 0) fixed = SKF_AD_OFF + SKF_AD_PROTOCOL
    else if (k === 4) fixed = SKF_AD_OFF + SKF_AD_IFINDEX
    else if (k === 10) fixed = SKF_AD_OFF + SKF_AD_PKTTYPE
    else {
      throw userError(`filter "${o.expr}" reads SLL2 header byte ${k} on ${o.iface}, which a kernel filter cannot see (only the protocol, interface index and packet type)`, 'ECONFIG')
    }
    prog.writeUInt32LE(fixed >>> 0, at + 4)
  }
}
