import { KEY_WORDS, type SessionStore } from './session-store.js'
import { fmix32 } from '../util/hash.js'

/**
 * The flow table's lookup: open addressing with linear probing over an Int32Array of row + 1
 * (0 = empty), keys compared as ten 32-bit words held in the store, deletion by backward shift
 * (no tombstones, so probes stay short). Keys are built in a reused scratch array: no allocation
 * per packet.
 */
export class FlowIndex {
  private table: Int32Array
  private mask: number
  /** The key being looked up, filled by the caller. */
  readonly scratch = new Uint32Array(KEY_WORDS)

  constructor(private readonly store: SessionStore) {
    const size = nextPow2(store.capacity * 2)
    this.table = new Int32Array(size)
    this.mask = size - 1
  }

  /** 32-bit hash of the scratch key. */
  hashScratch(): number {
    return hashKey(this.scratch, 0)
  }

  /** Row holding the scratch key, or -1. */
  find(hash: number): number {
    const t = this.table
    const keys = this.store.keys
    const k = this.scratch
    let i = hash & this.mask
    for (;;) {
      const v = t[i]
      if (v === 0) return -1
      // The key itself, most distinctive words first: no hash column to read (one memory access
      // fewer per probe, 4 bytes fewer per session).
      const o = (v - 1) * KEY_WORDS
      if (keys[o + 9] === k[9] && keys[o + 1] === k[1] && keys[o + 5] === k[5] && keys[o] === k[0] &&
          keys[o + 2] === k[2] && keys[o + 3] === k[3] && keys[o + 4] === k[4] &&
          keys[o + 6] === k[6] && keys[o + 7] === k[7] && keys[o + 8] === k[8]) return v - 1
      i = (i + 1) & this.mask
    }
  }

  /** Store the scratch key in `row` and index it. */
  insert(row: number, hash: number): void {
    this.store.keys.set(this.scratch, row * KEY_WORDS)
    // The store's columns may have grown with this row: re-index everything (this row included).
    if (this.store.capacity * 2 > this.table.length) this.rebuild()
    else this.place(row, hash)
  }

  private place(row: number, hash: number): void {
    let i = hash & this.mask
    while (this.table[i] !== 0) i = (i + 1) & this.mask
    this.table[i] = row + 1
  }

  remove(row: number): void {
    const t = this.table
    const mask = this.mask
    const keys = this.store.keys
    let i = hashKey(keys, row * KEY_WORDS) & mask
    while (t[i] !== row + 1) {
      if (t[i] === 0) return
      i = (i + 1) & mask
    }
    // Backward-shift: pull later entries of the probe run into the hole when their home allows.
    let hole = i
    let j = i
    for (;;) {
      j = (j + 1) & mask
      const v = t[j]
      if (v === 0) break
      const home = hashKey(keys, (v - 1) * KEY_WORDS) & mask
      const dist = (j - home) & mask
      const holeDist = (j - hole) & mask
      if (dist >= holeDist) {
        t[hole] = v
        hole = j
      }
    }
    t[hole] = 0
  }

  /** Re-index every used row after the store's columns grew. */
  private rebuild(): void {
    const size = nextPow2(this.store.capacity * 2)
    this.table = new Int32Array(size)
    this.mask = size - 1
    const flags = this.store.flags
    for (let row = 0; row < this.store.capacity; row++) {
      if (flags[row] !== 0) this.place(row, hashKey(this.store.keys, row * KEY_WORDS))
    }
  }

  tableBytes(): number {
    return this.table.byteLength
  }
}

/** 32-bit hash of the key at k[o, o + KEY_WORDS) (murmur3-style mixing of each word). */
function hashKey(k: Uint32Array, o: number): number {
  let h = 0x9747b28c
  for (let i = o; i < o + KEY_WORDS; i++) {
    let w = Math.imul(k[i]!, 0xcc9e2d51)
    w = (w << 15) | (w >>> 17)
    h ^= Math.imul(w, 0x1b873593)
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  return fmix32(h)
}

function nextPow2(n: number): number {
  let p = 16
  while (p < n) p *= 2
  return p
}
