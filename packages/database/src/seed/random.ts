/**
 * A small seeded PRNG: Math.random cannot be seeded, and the seeder must produce the same rows
 * for the same `--seed` on every machine and Node version.
 */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** True with the given probability. */
  chance(probability: number): boolean;
  /** One element of a non-empty list, uniformly. */
  pick<T>(values: readonly T[]): T;
  /** One element of a non-empty list, by cumulative weights made with `cumulative()`. */
  weighted<T>(values: readonly T[], cumulativeWeights: readonly number[]): T;
}

/** Hashes any number of integers into one 32-bit seed (murmur3 finaliser per input), so each table gets its own stream. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    // Split doubles above 2^32 so offsets past 4 billion still change the stream.
    const lo = part >>> 0;
    const hi = Math.floor(part / 0x1_0000_0000) >>> 0;
    for (const word of [lo, hi]) {
      let k = Math.imul(word, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, 0x1b873593);
      h ^= k;
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128-bit state, passes PractRand, needs only 32-bit ops. */
export function createRng(seed: number): Rng {
  let a = mixSeed(seed, 1);
  let b = mixSeed(seed, 2);
  let c = mixSeed(seed, 3);
  let d = 1;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 0x1_0000_0000;
  };
  // The first outputs of a freshly keyed sfc32 are correlated with the key: discard them.
  for (let i = 0; i < 12; i++) next();

  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (probability) => next() < probability,
    pick: <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)] as T,
    weighted: <T>(values: readonly T[], cumulativeWeights: readonly number[]): T => {
      const total = cumulativeWeights[cumulativeWeights.length - 1] ?? 0;
      const r = next() * total;
      for (let i = 0; i < cumulativeWeights.length; i++) {
        if (r < (cumulativeWeights[i] as number)) return values[i] as T;
      }
      return values[values.length - 1] as T;
    },
  };
}

/** Running sums of weights, computed once per list rather than once per row. */
export function cumulative(weights: readonly number[]): number[] {
  let sum = 0;
  return weights.map((w) => (sum += w));
}
