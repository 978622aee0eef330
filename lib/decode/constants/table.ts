/**
 * A numbered constant table with lookups both ways (number -> name, name -> number). Built once at
 * module load; lookups allocate nothing.
 */
export interface ConstantTable {
  /** The name for a number, or undefined when the table does not know it. */
  name(value: number): string | undefined
  /** The number for a name (case-insensitive), or undefined. */
  value(name: string): number | undefined
  /** All [value, name] pairs in table order. */
  entries(): ReadonlyArray<readonly [number, string]>
}

export function constantTable(pairs: ReadonlyArray<readonly [number, string]>): ConstantTable {
  const byValue = new Map<number, string>()
  const byName = new Map<string, number>()
  for (const [v, n] of pairs) {
    // First name wins for a number (aliases may follow); every name maps back to its number.
    if (!byValue.has(v)) byValue.set(v, n)
    byName.set(n.toLowerCase(), v)
  }
  return {
    name: (value) => byValue.get(value),
    value: (name) => byName.get(name.toLowerCase()),
    entries: () => pairs,
  }
}
