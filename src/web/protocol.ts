// The messages between the playground's page (main.ts) and its worker
// (worker.ts), which runs the whole toolchain so the page stays responsive.
// Every payload is plain structured-cloneable data: the worker keeps the
// built image and the stepping machine; the page only renders.

import type { Diagnostic } from "../guest-isa/diagnostics.js";
import type { MigrationReport } from "../migration/report.js";
import { MATRIX_MAX_CYCLES } from "../hypervisors/matrix-limits.js";

/** What to build: one guest file from the editor, or the bundled kernel (kernel.ts from the editor). */
export type Program =
  | { kind: "guest"; file: string; text: string }
  | { kind: "kernel"; workload: string; text: string };

export type Request =
  /** From index.html as it starts the worker: the page's query string and fragment (link.ts); no reply. */
  | { id: number; op: "early"; query: string; hash?: string }
  | { id: number; op: "build"; program: Program }
  | { id: number; op: "sites" }
  | { id: number; op: "run"; backends: readonly string[]; options: RunOptions }
  | { id: number; op: "step-start"; backend: string; options: StepOptions }
  /** Shows another CPU of a multiprocessor (nothing runs). */
  | { id: number; op: "step-view"; cpu: number }
  | { id: number; op: "step"; count: number }
  | { id: number; op: "step-to"; addr: number }
  | { id: number; op: "step-run" }
  | { id: number; op: "migrate"; options: MigrateOptions };

/** The stepping machine: the Run view's options, and for several CPUs the interleaving quantum (a step is one epoch). */
export interface StepOptions extends RunOptions {
  /** `--quantum`: undefined is the machine's default (what the Run view's runs use). */
  quantum?: number;
}

/** One move, as `previrt migrate ELF --from X --to Y --at N [--live] [--cpus N] [--pcpus M] [--no-protect]` (docs/migration.md): the header's run options. */
export interface MigrateOptions {
  from: string;
  to: string;
  /** The cycle to move at (the first safe point at or after it); undefined: half of bare's run. */
  at?: number;
  live: boolean;
  cpus: number;
  /** Physical CPUs the hypervisors time-slice the CPUs on (RunOptions.pcpus); the library refuses it on a route with bare. */
  pcpus?: number;
  /** The in-place VMM's protection domain (RunOptions.protect). */
  protect: boolean;
  /** Where the move and bare's reference stop (RunOptions.maxCycles). */
  maxCycles?: number;
}

/** The run options of the matrix, as the CLI's `matrix --cpus N --pcpus M --no-protect --max-cycles N` (docs/vcpus.md, docs/protection.md). */
export interface RunOptions {
  cpus: number;
  /** Physical CPUs the hypervisors time-slice the vCPUs on; undefined: one per CPU. Bare has one per CPU (the library refuses pcpus there). */
  pcpus?: number;
  /** The in-place VMM's protection domain on xen and l4 (default on). */
  protect: boolean;
  /** Where a run stops (the link's `max-cycles=N`); undefined: the page's limit, LIMITS.maxCycles (cycleLimit). */
  maxCycles?: number;
}

/** One site of the annotated assembly: where it is, its `.softlayer` record, its source line. */
export interface SiteMark {
  /** 1-based line of the site's first instruction in the annotated text. */
  line: number;
  /** Lines the site (instruction + padding) spans there. */
  lines: number;
  kind: string;
  addr?: number;
  length: number;
  record: string;
  source: string;
}

export interface BuildReply {
  ok: boolean;
  diagnostics: Diagnostic[];
  /** Compiled assembly of the edited file (TypeScript input), or the input itself (assembly). */
  compiled?: string;
  annotated?: string;
  marks?: SiteMark[];
  /** Every `.softlayer` record of the image: how many, by kind. */
  siteCount?: number;
  sections?: string;
  ms: number;
  /** A failure that is not a diagnostic (a bad sample, an internal error). */
  error?: string;
}

export interface SiteRow {
  addr: number;
  kind: string;
  length: number;
  strategy: string;
  source: string;
  before: string[];
  after: string[];
}

export interface BackendSites {
  backend: string;
  description: string;
  counts: Record<string, number>;
  stubs: number;
  rows: SiteRow[];
  error?: string;
}

export interface RunRow {
  backend: string;
  description: string;
  verdict: string;
  /** The console or ending differs from bare's (a run the cycle limit stopped with bare's output so far does not: atLimit says so). */
  divergent: boolean;
  /** For a divergence: the first differing line, as bare and as this back end printed it. */
  expected?: string;
  actual?: string;
  ending: string;
  /** The ending as the CLI's matrix table puts it: `exit N`, or the stop's reason (`crash`, `max-cycles`, …). */
  endingShort: string;
  /** A run that did not power off (a crash, a deadlock, the cycle limit): where and why, as `previrt run` prints it (registers, last instructions). */
  diagnosis?: string;
  /** It was stopped at the playground's cycle limit (cycleLimit): the guest had not ended by then. */
  atLimit?: boolean;
  console: string;
  cycles: number;
  instructions: number;
  overhead: number;
  exits: number;
  hypercalls: number;
  ipcs: number;
  traps: number;
  sites: Record<string, number>;
  /** Cycles by where they went: each priced event, idle, and the instructions themselves. */
  breakdown: Record<string, number>;
  seconds: number;
  /** A multiprocessor run's CPUs (stats.perCpu): each one's clock, instructions, idle and descheduled cycles. */
  perCpu?: { cycles: number; instructions: number; idle: number; descheduled: number }[];
  /** The protection counters (stats.counts `protection.*`), present when something was checked. */
  protection?: { checks: number; plbMisses: number; extraRefs: number };
  /** Why an option did not apply to this back end (the library's refusal), e.g. pcpus on bare. */
  note?: string;
}

/** Every CPU of the stepping machine at a glance. */
export interface CpuSummary {
  state: string;
  pc: number;
  psr: number;
  cycles: number;
  instructions: number;
}

export interface StepState {
  backend: string;
  /** The CPU shown below (registers, psr, virtual CPU, instructions); 0 with one CPU. */
  cpu: number;
  /** Every CPU (one entry with one CPU). */
  cpus: CpuSummary[];
  /** A multiprocessor's interleaving quantum in cycles: a step runs one epoch (every CPU up to the next multiple of it). */
  quantum?: number;
  /** What the last request did that the state does not show (e.g. run to site stopped elsewhere). */
  note?: string;
  pc: number;
  psr: number;
  regs: number[];
  cr: number[];
  cycles: number;
  instructions: number;
  /** The virtual CPU where the monitor keeps it apart (trap, xen, l4; hvm once paging is on): the psr and control registers the guest believes it has. */
  virtual?: { psr: number; cr: number[] };
  /** The soft-layer window's data words (xen, l4). */
  window?: { name: string; addr: number; value: number }[];
  last: string[];
  /** Disassembly around pc. */
  around: string[];
  console: string;
  ended?: string;
  /** It ended at the playground's cycle limit: the guest had not powered off by then. */
  atLimit?: boolean;
  sites: { addr: number; label: string }[];
}

/** A re-patched site: the words the source's rewriter left, and what the target's rewriter made of the original. */
export interface RepatchRow {
  addr: number;
  kind: string;
  from: { strategy: string; words: string[] };
  to: { strategy: string; words: string[] };
  /** Whether the target's words differ from the source's. */
  changed: boolean;
}

export interface MigrateReply {
  options: MigrateOptions & { at: number };
  /** The library's report (src/migration/report.ts), as `migrate --json` writes it. */
  report: MigrationReport;
  /** Its stderr line(s), as the CLI prints them. */
  reportText: string;
  /** The frames dirtied during each pre-copy round (live), as the machine's dirty log gave them. */
  dirty: number[][];
  sites: RepatchRow[];
  /** The console up to the move, and after it (on the target). */
  consoleBefore: string;
  consoleAfter: string;
  ending: string;
  /** The moved guest (or bare's reference) was stopped at the playground's cycle limit: the CLI's migrate has none unless given --max-cycles. */
  atLimit: boolean;
  cycles: number;
  bare: { console: string; ending: string; cycles: number };
  /** The whole run's console and ending against bare's unmigrated run (compareRuns). */
  verdict: string;
  /** As RunRow's: a run the limit stopped with bare's output so far is atLimit, not divergent. */
  divergent: boolean;
  ms: number;
}

/** The worker's limits, for the page's words about them. */
export const LIMITS = {
  /** A run stops here: the CLI's matrix allows 2·10⁹ (`--max-cycles`); a page should answer sooner. */
  maxCycles: 400_000_000,
  /** The CLI's matrix default, to say how the page differs. */
  cliMaxCycles: MATRIX_MAX_CYCLES,
} as const;

/** Where a run, a step-run or a move with these options stops: the link's `max-cycles=N`, else the page's limit. */
export function cycleLimit(o: { maxCycles?: number }): number {
  return o.maxCycles ?? LIMITS.maxCycles;
}

export type Reply =
  | { id: number; op: "build"; build: BuildReply }
  | { id: number; op: "sites"; sites: BackendSites[] }
  | { id: number; op: "run-row"; row: RunRow; index: number; total: number }
  | { id: number; op: "run"; rows: RunRow[]; ms: number }
  | { id: number; op: "step"; state: StepState }
  | { id: number; op: "migrate"; migrate: MigrateReply }
  | { id: number; op: "error"; message: string };
