// Benchmark plumbing shared by bench/*.bench.ts: each file exports
// `benchmarks`, a list of named measurements; bench/run.ts runs them all
// (or those whose name matches the command-line filter) and prints one line
// each. Figures are medians of several repetitions: this machine is shared.

export interface BenchResult {
  /** What was measured, e.g. "assembler throughput". */
  metric: string;
  value: number;
  /** e.g. "lines/s", "MIPS". */
  unit: string;
  /** Target from the issue, when there is one, in the same unit. */
  target?: number;
  /** Which way the target is met: "higher" (the default: value ≥ target) or "lower" (value ≤ target, e.g. seconds). */
  better?: "higher" | "lower";
  /** Extra facts worth printing (sizes, counts). */
  detail?: string;
}

export interface Benchmark {
  name: string;
  /** Run only when named on the command line (`npm run bench -- NAME`), not by a bare `npm run bench`: it takes minutes. */
  optIn?: boolean;
  run(): Promise<BenchResult[]> | BenchResult[];
}

/** Runs `fn` `repeats` times and returns the median of what it returns. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Times `fn` (after one warm-up call) `repeats` times; returns the median seconds per call. */
export function timeMedian(fn: () => unknown, repeats = 5): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(times);
}
