// The messages between the playground's page (main.ts) and its worker
// (worker.ts), which runs the whole toolchain so the page stays responsive.
// Every payload is plain structured-cloneable data: the worker keeps the
// built image and the stepping machine; the page only renders.

import type { Diagnostic } from "../guest-isa/diagnostics.js";

/** What to build: one guest file from the editor, or the bundled kernel (kernel.ts from the editor). */
export type Program =
  | { kind: "guest"; file: string; text: string }
  | { kind: "kernel"; workload: string; text: string };

export type Request =
  | { id: number; op: "build"; program: Program }
  | { id: number; op: "sites" }
  | { id: number; op: "run"; backends: string[] }
  | { id: number; op: "step-start"; backend: string }
  | { id: number; op: "step"; count: number }
  | { id: number; op: "step-to"; addr: number }
  | { id: number; op: "step-run" };

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
  divergent: boolean;
  /** For a divergence: the first differing line, as bare and as this back end printed it. */
  expected?: string;
  actual?: string;
  ending: string;
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
}

export interface StepState {
  backend: string;
  pc: number;
  psr: number;
  regs: number[];
  cr: number[];
  cycles: number;
  instructions: number;
  /** The virtual CPU (deprivileged back ends): the psr and control registers the guest believes it has. */
  virtual?: { psr: number; cr: number[] };
  /** The soft-layer window's data words (xen, l4). */
  window?: { name: string; addr: number; value: number }[];
  last: string[];
  /** Disassembly around pc. */
  around: string[];
  console: string;
  ended?: string;
  sites: { addr: number; label: string }[];
}

export type Reply =
  | { id: number; op: "build"; build: BuildReply }
  | { id: number; op: "sites"; sites: BackendSites[] }
  | { id: number; op: "run-row"; row: RunRow; index: number; total: number }
  | { id: number; op: "run"; rows: RunRow[]; ms: number }
  | { id: number; op: "step"; state: StepState }
  | { id: number; op: "error"; message: string };
