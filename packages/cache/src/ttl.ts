/** The contract's default TTLs in seconds, by prefix and operation (`*`: any other operation). */
export const DEFAULT_TTLS: Record<string, Record<string, number>> = {
  organisations: { list: 300, stats: 300, detail: 600, search: 600, mandats: 600, '*': 300 },
  people: { '*': 300 },
  interactions: { '*': 60 },
  produits: { '*': 3600 },
};

/** TTL for a prefix and operation; `CACHE_TTL_<PREFIX>` overrides every operation of that prefix. */
export function ttlFor(prefix: string, operation: string, overrides: Record<string, number> = {}): number {
  const override = overrides[prefix.toLowerCase()];
  if (override !== undefined) return override;
  const table = DEFAULT_TTLS[prefix];
  return table?.[operation] ?? table?.['*'] ?? 300;
}
