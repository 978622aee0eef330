/** LINKTYPE_* values (tcpdump.org/linktypes) used across the project, with name lookups both ways. */
export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  NFLOG: 239,
  LINUX_SLL2: 276,
} as const

const byNumber = new Map<number, string>(Object.entries(LINKTYPE).map(([k, v]) => [v, k]))

/** "RAW" for 101; "LINKTYPE_1234" for numbers without a name here. */
export function linktypeName(n: number): string {
  return byNumber.get(n) ?? `LINKTYPE_${n}`
}

/** Parses "raw", "nflog", "ethernet", "LINKTYPE_RAW" or a number; undefined when unknown. */
export function linktypeFromName(s: string): number | undefined {
  const up = s.trim().toUpperCase().replace(/^LINKTYPE_/, '')
  if (/^\d+$/.test(up)) return Number(up)
  return (LINKTYPE as Record<string, number>)[up === 'SLL' ? 'LINUX_SLL' : up === 'SLL2' ? 'LINUX_SLL2' : up]
}
