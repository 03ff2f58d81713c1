// Fault injection into an isolated kernel module (docs/protection.md), as in
// the Mondrix (SOSP 2005) and Nooks (SOSP 2003) experiments: the Mondrix
// kernel variant (fixtures/mondrix) is built once; each seeded run corrupts
// one instruction of its disk driver's code — a store to a random address,
// a flipped branch condition, or a dropped store — runs it on a back end
// (bare metal by default; the same plain binary under a hypervisor, which
// traps and emulates its in/out) with or without the driver's protection
// domain, and classifies the outcome.
//
// Consumes a seed range, the back end and the protection setting; produces one Outcome per
// run and the tallies `previrt inject` prints. Outcomes:
//   protection  the memory supervisor stopped the driver (cause 10)
//   selfcheck   the kernel's own self-check failed (exit 1)
//   silent      the run ended normally but kernel memory outside the driver's
//               own state and stack differs from the uncorrupted run's
//   hang        the cycle budget (10× the uncorrupted run) ran out, or the CPU
//               halted for good
//   crash       any other trap (cause ≠ 10) or stop
//   benign      the run ended normally with kernel memory intact
// Everything is a function of the seed: the same seed gives the same run.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { encodeInstruction } from "../../guest-isa/encoding.js";
import { UserError } from "../../guest-isa/diagnostics.js";
import { SHF_ALLOC, SHT_NOBITS, type ElfImage } from "../../guest-isa/elf-types.js";
import { OP } from "../../guest-isa/isa-table.js";
import { CAUSE, REG } from "../../guest-isa/registers.js";
import { runElf } from "../../hypervisors/index.js";
import { buildSources } from "../build-pipeline.js";
import { packageRoot } from "../package-info.js";
import { drain } from "../interrupt.js";

export const FAULT_KINDS = ["store", "branch", "drop"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export const OUTCOMES = ["protection", "selfcheck", "silent", "hang", "crash", "benign"] as const;
export type Outcome = (typeof OUTCOMES)[number];

const MONDRIX_FILES = ["entry.s", "kernel.ts", "driver.ts"];
/** Sectors the variant's disk needs (it writes sectors 0–23). */
export const MONDRIX_DISK_BYTES = 512 * 64;
/** The kernel's trap handler powers off with 100 + cause (fixtures/mondrix/entry.s). */
const TRAP_EXIT_BASE = 100;

/** The Mondrix kernel variant, built from fixtures/mondrix (plain: it runs on bare metal). */
export function buildMondrixKernel(): ElfImage {
  const root = packageRoot();
  if (!root) throw new UserError("cannot find previrt's package folder (which holds fixtures/mondrix, the fault-injection kernel)");
  const sources = MONDRIX_FILES.map((n) => ({ file: `fixtures/mondrix/${n}`, text: readFileSync(join(root, "fixtures", "mondrix", n), "utf8") }));
  return buildSources(sources, { annotate: false }).image;
}

/** One injected fault: which instruction of the driver, and what it became. */
export interface Injection {
  seed: number;
  kind: FaultKind;
  addr: number;
  before: number;
  after: number;
}

/** A small deterministic generator (xorshift32) seeded from the run's seed. */
function rng(seed: number): () => number {
  let x = (Math.imul(seed + 1, 0x9e3779b9) ^ 0x5bd1e995) | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function symbol(image: ElfImage, name: string): number {
  const s = image.symbols.find((x) => x.name === name);
  if (!s) throw new Error(`internal: the Mondrix kernel has no symbol ${name}`);
  return s.value >>> 0;
}

const BRANCHES = new Set<number>([OP.beq, OP.bne, OP.blt, OP.bge, OP.bltu, OP.bgeu]);
const STORES = new Set<number>([OP.sw, OP.sh, OP.sb]);
/** Each branch and its negation. */
const FLIPPED: Record<number, number> = {
  [OP.beq]: OP.bne, [OP.bne]: OP.beq, [OP.blt]: OP.bge, [OP.bge]: OP.blt, [OP.bltu]: OP.bgeu, [OP.bgeu]: OP.bltu,
};
const NOP = encodeInstruction("addi", { a: REG.zero, b: REG.zero, imm: 0 });

/** The fault of run `seed`: its kind cycles store, branch, drop; the rest is drawn from the seed. */
export function planInjection(image: ElfImage, seed: number): Injection {
  const kind = FAULT_KINDS[seed % FAULT_KINDS.length];
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const text = image.sections.find((s) => s.name === ".text")!;
  const words = new DataView(text.data.buffer, text.data.byteOffset, text.data.byteLength);
  const begin = symbol(image, "drvBegin");
  const end = symbol(image, "drvEnd");
  const at: number[] = [];
  for (let a = begin; a < end; a += 4) at.push(a);
  const word = (a: number) => words.getUint32(a - text.addr, true);
  if (kind === "store") {
    const addr = pick(at);
    // Half aimed into the kernel image (base zero, an absolute address below the stack's top), half off a random register.
    const top = symbol(image, "__stack_top");
    const lowest = Math.min(...image.sections.filter((s) => s.flags & SHF_ALLOC && (s.type === SHT_NOBITS ? s.size : s.data.length) > 0).map((s) => s.addr));
    const regs = Object.values(REG);
    const absolute = rand() < 0.5;
    const base = absolute ? REG.zero : pick(regs);
    const imm = absolute ? (lowest + Math.floor(rand() * ((Math.min(top, 0x1ffff) - lowest) >>> 2)) * 4) : (Math.floor(rand() * 128) - 64) * 4;
    const after = encodeInstruction("sw", { a: pick(regs), b: base, imm });
    return { seed, kind, addr, before: word(addr), after };
  }
  const wanted = kind === "branch" ? BRANCHES : STORES;
  const candidates = at.filter((a) => wanted.has(word(a) & 63));
  if (candidates.length === 0) throw new Error(`internal: the Mondrix driver has no ${kind === "branch" ? "branch" : "store"} to corrupt`);
  const addr = pick(candidates);
  const before = word(addr);
  const after = kind === "branch" ? ((before & ~63) | FLIPPED[before & 63]) >>> 0 : NOP;
  return { seed, kind, addr, before, after };
}

/** The image with the injection applied (a copy of .text; the input is not modified). */
export function injectedImage(image: ElfImage, inj: Injection): ElfImage {
  const sections = image.sections.map((s) => {
    if (s.name !== ".text") return s;
    const data = s.data.slice();
    new DataView(data.buffer).setUint32(inj.addr - s.addr, inj.after, true);
    return { ...s, data };
  });
  return { ...image, sections };
}

/** The uncorrupted run a campaign compares against. */
export interface Golden {
  cycles: number;
  /** Kernel memory that must survive the driver: [start, end) ranges and their bytes. */
  ranges: { start: number; bytes: Uint8Array }[];
}

/** Kernel memory outside the driver's own code, state and the stack: what a silent corruption would change. */
function kernelRanges(image: ElfImage): [number, number][] {
  const alloc = image.sections.filter((s) => s.flags & SHF_ALLOC && (s.type === SHT_NOBITS ? s.size : s.data.length) > 0);
  const lo = Math.min(...alloc.map((s) => s.addr));
  const holes: [number, number][] = [
    [symbol(image, "drvBegin"), symbol(image, "drvEnd")],
    [symbol(image, "drvState"), symbol(image, "drvState") + 32],
    [symbol(image, "drvLog"), symbol(image, "drvLog") + 64],
    [symbol(image, "__stack_bottom"), symbol(image, "__stack_top")],
  ].sort((a, b) => a[0] - b[0]) as [number, number][];
  const hi = Math.max(...alloc.map((s) => s.addr + (s.type === SHT_NOBITS ? s.size : s.data.length)));
  const out: [number, number][] = [];
  let at = lo;
  for (const [s, e] of holes) {
    if (s > at) out.push([at, s]);
    at = Math.max(at, e);
  }
  if (hi > at) out.push([at, hi]);
  return out;
}

function run(image: ElfImage, protect: boolean, maxCycles: number, backend: string) {
  return runElf(image, { backend, protect, disk: new Uint8Array(MONDRIX_DISK_BYTES), maxCycles, engine: "interp" });
}

/** Runs the uncorrupted kernel (it must pass its self-check). */
export function goldenRun(image: ElfImage, protect: boolean, backend = "bare"): Golden {
  const out = run(image, protect, 2_000_000_000, backend);
  if (out.result.kind !== "poweroff" || out.result.exitCode !== 0) throw new Error(`internal: the uncorrupted Mondrix kernel did not pass its self-check (${JSON.stringify(out.result)})`);
  const mem = out.machine.memory.u8;
  return { cycles: out.stats.cycles, ranges: kernelRanges(image).map(([s, e]) => ({ start: s, bytes: mem.slice(s, e) })) };
}

export interface RunRecord extends Injection {
  protect: boolean;
  outcome: Outcome;
  /** How it ended: "exit N", "cause N", the stop reason. */
  detail: string;
}

/** One seeded run: inject, run, classify. */
export function injectOnce(image: ElfImage, golden: Golden, seed: number, protect: boolean, backend = "bare"): RunRecord {
  const inj = planInjection(image, seed);
  const out = run(injectedImage(image, inj), protect, golden.cycles * 10, backend);
  const r = out.result;
  const rec = (outcome: Outcome, detail: string): RunRecord => ({ ...inj, protect, outcome, detail });
  if (r.kind === "stopped") {
    if (r.reason === "max-cycles" || r.reason === "hlt-deadlock") return rec("hang", r.reason);
    return rec("crash", r.reason);
  }
  if (r.exitCode === TRAP_EXIT_BASE + CAUSE.PROTECTION_FAULT) return rec("protection", "cause 10");
  if (r.exitCode === 1) return rec("selfcheck", "exit 1");
  if (r.exitCode > TRAP_EXIT_BASE && r.exitCode < TRAP_EXIT_BASE + 16) return rec("crash", `cause ${r.exitCode - TRAP_EXIT_BASE}`);
  if (r.exitCode !== 0) return rec("crash", `exit ${r.exitCode}`);
  const mem = out.machine.memory.u8;
  const intact = golden.ranges.every(({ start, bytes }) => Buffer.from(mem.subarray(start, start + bytes.length)).equals(Buffer.from(bytes)));
  return rec(intact ? "benign" : "silent", "exit 0");
}

export type Tally = Record<Outcome, number>;

export interface CampaignResult {
  /** The back end (--hv). */
  hv: string;
  runs: number;
  firstSeed: number;
  /** Per protection setting ("on", "off"): outcomes overall and by fault kind. */
  arms: Record<string, { total: Tally; byKind: Record<FaultKind, Tally> }>;
  records: RunRecord[];
}

const emptyTally = (): Tally => Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Tally;

export interface CampaignOptions {
  runs: number;
  firstSeed: number;
  arms: readonly boolean[];
  hv?: string;
  onRun?: (done: number, total: number) => void;
}

/** Seeds firstSeed … firstSeed + runs − 1, with protection on and/or off. */
export function runCampaign(options: CampaignOptions): CampaignResult {
  return drain(campaignSteps(options));
}

/** runCampaign one injected run at a time (a step each: cli/interrupt.ts drain, drainInterruptible). */
export function* campaignSteps(options: CampaignOptions): Generator<void, CampaignResult> {
  const image = buildMondrixKernel();
  const hv = options.hv ?? "bare";
  const result: CampaignResult = { hv, runs: options.runs, firstSeed: options.firstSeed, arms: {}, records: [] };
  const total = options.runs * options.arms.length;
  let done = 0;
  for (const protect of options.arms) {
    const golden = goldenRun(image, protect, hv);
    const arm = { total: emptyTally(), byKind: Object.fromEntries(FAULT_KINDS.map((k) => [k, emptyTally()])) as Record<FaultKind, Tally> };
    for (let i = 0; i < options.runs; i++) {
      const r = injectOnce(image, golden, options.firstSeed + i, protect, hv);
      arm.total[r.outcome]++;
      arm.byKind[r.kind][r.outcome]++;
      result.records.push(r);
      options.onRun?.(++done, total);
      yield;
    }
    result.arms[protect ? "on" : "off"] = arm;
  }
  return result;
}

const LABEL: Record<Outcome, string> = {
  protection: "caught by protection fault",
  selfcheck: "detected by self-check",
  silent: "silent corruption",
  hang: "hang",
  crash: "crash",
  benign: "no effect",
};

/** The campaign as a text table: one row per outcome, one column per arm (and per fault kind). */
export function formatCampaign(c: CampaignResult): string {
  const arms = Object.keys(c.arms);
  const head = ["outcome", ...arms.flatMap((a) => [`protection ${a}`, ...FAULT_KINDS.map((k) => `${k}`)])];
  const rows = OUTCOMES.map((o) => [LABEL[o], ...arms.flatMap((a) => [String(c.arms[a].total[o]), ...FAULT_KINDS.map((k) => String(c.arms[a].byKind[k][o]))])]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join("  ");
  return [
    `fault injection into the Mondrix kernel's disk driver${c.hv === "bare" ? "" : ` on ${c.hv}`}: ${c.runs} runs per arm (seeds ${c.firstSeed}–${c.firstSeed + c.runs - 1}; store, branch, drop in turn)`,
    line(head),
    ...rows.map(line),
    "",
  ].join("\n");
}
