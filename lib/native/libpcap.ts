import koffi from 'koffi'
import { userError } from '../util/errors.js'

/**
 * libpcap's filter compiler through koffi: pcap_open_dead + pcap_compile turn a tcpdump
 * expression into a BPF program for one link type, pcap_offline_filter runs it on a packet.
 * The only file that loads libpcap. Debian ships the library as libpcap.so.0.8.
 */
interface Lib {
  openDead: (linktype: number, snaplen: number) => unknown
  compile: (p: unknown, prog: Buffer, expr: string, optimize: number, netmask: number) => number
  geterr: (p: unknown) => string
  offlineFilter: (prog: Buffer, hdr: Buffer, data: Buffer) => number
  freecode: (prog: Buffer) => void
  close: (p: unknown) => void
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

/** Compile `expr` (tcpdump syntax) for `linktype`; a syntax error is a user error naming it. */
export function compileBpf(expr: string, linktype: number, snaplen = 262144): BpfProgram {
  const l = load()
  const pcap = l.openDead(linktype, snaplen)
  if (!pcap) throw userError(`cannot compile filter: pcap_open_dead failed for link type ${linktype}`, 'EBPF')
  // struct bpf_program { u_int bf_len; struct bpf_insn *bf_insns; } (16 bytes on LP64).
  const prog = Buffer.alloc(16)
  if (l.compile(pcap, prog, expr, 1, NETMASK_UNKNOWN) !== 0) {
    const why = l.geterr(pcap)
    l.close(pcap)
    throw userError(`bad filter "${expr}": ${why}`, 'EBPF')
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
