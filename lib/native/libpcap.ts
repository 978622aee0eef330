import koffi from 'koffi'
import { dltName, linktypeName, linktypeToDlt } from '../pcap/linktypes.js'
import { userError } from '../util/errors.js'

/**
 * libpcap's filter compiler through koffi: pcap_open_dead + pcap_compile turn a tcpdump
 * expression into a BPF program for one link type, pcap_offline_filter runs it on a packet.
 * The only file that loads libpcap. Debian ships the library as libpcap.so.0.8.
 */
interface Lib {
  openDead: (dlt: number, snaplen: number) => unknown
  compile: (p: unknown, prog: Buffer, expr: string, optimize: number, netmask: number) => number
  geterr: (p: unknown) => string
  offlineFilter: (prog: Buffer, hdr: Buffer, data: Buffer) => number
  freecode: (prog: Buffer) => void
  close: (p: unknown) => void
  valToName: (dlt: number) => string | null
}

let lib: Lib | null = null

function load(): Lib {
  if (lib) return lib
  let handle: ReturnType<typeof koffi.load> | null = null
  const tried: string[] = []
  for (const name of ['libpcap.so.0.8', 'libpcap.so.1', 'libpcap.so']) {
    try {
      handle = koffi.load(name)
      break
    } catch {
      tried.push(name)
    }
  }
  if (!handle) throw userError(`cannot load libpcap (tried ${tried.join(', ')}); install libpcap0.8`, 'ENOLIB')
  koffi.opaque('pcap_t_pzp')
  lib = {
    openDead: handle.func('pcap_t_pzp *pcap_open_dead(int linktype, int snaplen)'),
    compile: handle.func('int pcap_compile(pcap_t_pzp *p, void *fp, const char *str, int optimize, uint32_t netmask)'),
    geterr: handle.func('const char *pcap_geterr(pcap_t_pzp *p)'),
    offlineFilter: handle.func('int pcap_offline_filter(void *fp, void *h, void *pkt)'),
    freecode: handle.func('void pcap_freecode(void *fp)'),
    close: handle.func('void pcap_close(pcap_t_pzp *p)'),
    valToName: handle.func('const char *pcap_datalink_val_to_name(int dlt)'),
  }
  return lib
}

/** A compiled filter for one link type. */
export interface BpfProgram {
  /** Whether the packet (captured bytes `data`, original length `origLen`) passes. */
  matches(data: Buffer, origLen: number): boolean
  /** pcap_freecode + pcap_close; the program must not be used afterwards. */
  close(): void
}

/** PCAP_NETMASK_UNKNOWN: "ip broadcast" cannot be used, everything else compiles. */
const NETMASK_UNKNOWN = 0xffffffff

/** pcap_geterr when the optimiser proves that no packet of this link type can match. */
const REJECTS_ALL = 'expression rejects all packets'

/**
 * Compile `expr` (tcpdump syntax) for packets of LINKTYPE `linktype`. pcap_open_dead wants a DLT,
 * not the LINKTYPE a capture file or batch carries (LINKTYPE_RAW 101 is DLT_RAW 12): the number
 * goes through linktypeToDlt first. Failures are user errors naming the expression and link type;
 * code EBPFNONE when libpcap refuses only because nothing of that link type could match (`ip6` on
 * LINKTYPE_IPV4), EBPF otherwise.
 */
export function compileBpf(expr: string, linktype: number, snaplen = 262144): BpfProgram {
  const l = load()
  const dlt = linktypeToDlt(linktype)
  const dn = dltName(dlt)
  const what = `link type ${linktypeName(linktype)}${dlt === linktype ? '' : ` (${dn.startsWith('DLT_') ? dn : `DLT_${dn}`})`}`
  const pcap = l.openDead(dlt, snaplen)
  if (!pcap) throw userError(`cannot compile filter: pcap_open_dead failed for ${what}`, 'EBPF')
  // struct bpf_program { u_int bf_len; struct bpf_insn *bf_insns; } (16 bytes on LP64).
  const prog = Buffer.alloc(16)
  if (l.compile(pcap, prog, expr, 1, NETMASK_UNKNOWN) !== 0) {
    const why = l.geterr(pcap)
    l.close(pcap)
    throw userError(`bad filter "${expr}" for ${what}: ${why}`, why === REJECTS_ALL ? 'EBPFNONE' : 'EBPF')
  }
  // struct pcap_pkthdr { struct timeval ts; bpf_u_int32 caplen; bpf_u_int32 len; }: 24 bytes, reused.
  const hdr = Buffer.alloc(24)
  let open = true
  return {
    matches(data: Buffer, origLen: number): boolean {
      hdr.writeUInt32LE(data.length, 16)
      hdr.writeUInt32LE(origLen, 20)
      return l.offlineFilter(prog, hdr, data) !== 0
    },
    close(): void {
      if (!open) return
      open = false
      l.freecode(prog)
      l.close(pcap)
    },
  }
}

/** pcap_datalink_val_to_name: libpcap's own name for a DLT ("RAW" for 12), null when it has none. */
export function libpcapDltName(dlt: number): string | null {
  return load().valToName(dlt) ?? null
}

/**
 * pcap_compile for a live capture's kernel filter: the program's struct bpf_insn array (8 bytes
 * each: u16 code, u8 jt, u8 jf, u32 k, host order), copied out before pcap_freecode. It is the
 * same layout as the kernel's struct sock_filter. Errors as compileBpf's.
 */
export function compileBpfInstructions(expr: string, linktype: number, snaplen: number): Buffer {
  const l = load()
  const dlt = linktypeToDlt(linktype)
  const what = `link type ${linktypeName(linktype)}`
  const pcap = l.openDead(dlt, snaplen)
  if (!pcap) throw userError(`cannot compile filter: pcap_open_dead failed for ${what}`, 'EBPF')
  const prog = Buffer.alloc(16)
  try {
    if (l.compile(pcap, prog, expr, 1, NETMASK_UNKNOWN) !== 0) {
      const why = l.geterr(pcap)
      throw userError(`bad filter "${expr}" for ${what}: ${why}`, why === REJECTS_ALL ? 'EBPFNONE' : 'EBPF')
    }
    const n = prog.readUInt32LE(0)
    const insns = Buffer.from(Buffer.from(koffi.view(koffi.decode(prog, 8, 'void *'), n * 8)))
    l.freecode(prog)
    return insns
  } finally {
    l.close(pcap)
  }
}
