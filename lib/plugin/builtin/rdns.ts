import { Resolver } from 'node:dns/promises'

/**
 * Reverse DNS that never makes the caller wait: lookup() answers from a cache (entries live
 * `ttlMs`, PokieStream's 120 s) and otherwise starts a background PTR query and answers
 * undefined for now. In-flight queries are capped so a flood of new addresses cannot pile up
 * unbounded work on a slow resolver; failures are cached too.
 */
export class ReverseDns {
  private readonly cache = new Map<string, { name: string | null; at: number }>()
  private readonly inflight = new Set<string>()
  private readonly resolver: Resolver

  constructor(
    private readonly ttlMs = 120_000,
    private readonly maxInflight = 64,
    timeoutMs = 2000,
    private readonly maxEntries = 100_000,
    servers?: string[],
  ) {
    this.resolver = new Resolver({ timeout: timeoutMs, tries: 1 })
    if (servers) this.resolver.setServers(servers)
  }

  /** The cached name, null for a cached failure, undefined when not known yet. */
  lookup(ip: string, now = Date.now()): string | null | undefined {
    const hit = this.cache.get(ip)
    if (hit && now - hit.at < this.ttlMs) return hit.name
    if (hit) this.cache.delete(ip)
    this.start(ip)
    return undefined
  }

  private start(ip: string): void {
    if (this.inflight.has(ip) || this.inflight.size >= this.maxInflight) return
    this.inflight.add(ip)
    this.resolver.reverse(ip).then(
      (names) => this.store(ip, names[0] ?? null),
      () => this.store(ip, null),
    )
  }

  private store(ip: string, name: string | null): void {
    this.inflight.delete(ip)
    if (this.cache.size >= this.maxEntries) {
      // Oldest insertion first (Map keeps insertion order).
      const first = this.cache.keys().next().value
      if (first !== undefined) this.cache.delete(first)
    }
    this.cache.set(ip, { name, at: Date.now() })
  }

  /** Tests and shutdown: stop outstanding queries. */
  cancel(): void {
    this.resolver.cancel()
  }
}
