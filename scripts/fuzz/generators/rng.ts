// Deterministic pseudo-random numbers for the fuzz campaigns and the tests
// that share their generators: a failure is reproducible from its seed.
// Consumed by scripts/fuzz/generators/* and the campaigns; produces numbers.

/** mulberry32: a uniform float in [0, 1) per call. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The generator a campaign draws one input from: seeded by (campaign seed, input index), so any input can be regenerated alone. */
export class Rng {
  private readonly next: () => number;
  constructor(seed: number, index = 0) {
    // Mix the two numbers so neighbouring indices give unrelated streams.
    let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul((index >>> 0) + 0x27d4eb2f, 0xc2b2ae35);
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
    this.next = rng((h ^ (h >>> 16)) >>> 0);
  }
  /** A float in [0, 1). */
  float(): number {
    return this.next();
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** Any 32-bit pattern, as an unsigned number. */
  u32(): number {
    return ((this.int(0x10000) << 16) | this.int(0x10000)) >>> 0;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  /** Picks by weight: `[[weight, value], …]`. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of choices) total += w;
    let x = this.next() * total;
    for (const [w, v] of choices) if ((x -= w) < 0) return v;
    return choices[choices.length - 1][1];
  }
}

/**
 * Reads a campaign's configuration back from an input's `aux`: a mixed-radix
 * number whose digits are the choices, least significant first. Each call
 * `take(n)` gives the next digit, 0 … n-1.
 */
export function auxDigits(aux: number): (n: number) => number {
  let a = aux;
  return (n: number) => {
    const v = a % n;
    a = Math.floor(a / n);
    return v;
  };
}
