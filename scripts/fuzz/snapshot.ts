// Fuzz campaign `snapshot`: the snapshot front door (`previrt resume F`,
// src/migration/snapshot.ts + codec.ts, docs/migration.md). Snapshots are
// taken from real runs — the bundled kernel at scale 1 (compute, io, syscall,
// mixed, smp; io also with the memory-mapped disk, emulated or passed
// through) and the fixtures of generators/fixtures.ts — on every back end,
// with one or two CPUs, at a pseudo-random cycle, then mutated:
//   - the file's bytes: bit flips, truncation, header fields (version,
//     lengths, CRC) set to boundary values;
//   - the inflated payload (JSON text, array references, the arrays' bytes),
//     re-deflated behind a header that checks, so the edit reaches the parser;
//   - fields of the decoded document, edited and re-encoded through the codec:
//     registers, pc outside RAM, psr bits, control registers, TLB entries,
//     the clock, timers and disk events in the past or huge, the disk's and
//     nvdisk's registers and queue indices, counters, the CPU count, the back
//     end's name, the cost model, RAM size and guest limit, the page list,
//     the monitor's exact state, page-table entries and the monitor's
//     reserved pages in RAM, the binary (its bytes, its site table, another
//     fixture's ELF), or any leaf of the document at random;
//   - the guest's own protection domains and its memory supervisor's words
//     (machine.protection.guest, machine.supervisor; docs/protection.md):
//     snapshots of the Mondrix variant (fixtures/mondrix, which isolates its
//     driver in a domain early in its run) for one input in four (a digit of
//     its aux), and edits aimed at them (GUEST_EDITS): code ranges reversed,
//     empty, unaligned, overlapping another domain's, outside memory, too
//     many; grants unaligned, overlapping, descending, beyond guest memory,
//     of a permission past 3; ids and guest ids duplicated, out of range, the
//     kernel domain dropped or moved; too many domains; names of other types
//     and lengths; the supervisor's five words of another count or type.
// Each is resumed — on the back end that took it, or on another — as
// `previrt resume` does (parseSnapshot, restoreGuest, finish).
// Oracle: a refusal is a UserError (one line) from parsing or restoring,
// before the guest runs; otherwise the run ends in a result (power-off or a
// diagnosed stop) with no exception, a snapshot taken a quarter of the way
// into it is one the reader accepts, and on xen and l4 the in-place VMM's
// read-only code and stubs are intact afterwards. An unmutated snapshot
// (what the shrinker may reach) resumed on its own back end must end exactly
// as the uninterrupted run — console, ending, cycles and every counter; on
// another back end the bundled kernel must print and end as it does
// uninterrupted (trap excepted: its documented `wrpsr` hole). For one
// accepted input in four (a digit of its aux past the configuration's) the
// file is resumed again under the interpreter and under the JIT at threshold 1
// (every page translated from its first execution): those and the resume under
// the input's engine must leave exactly what the interpreter's left — ending,
// console, counters, every CPU's registers, RAM (generators/engines.ts).
//
// Consumed by the fuzz driver (runner.ts, worker.ts); input i's
// configuration (program, back ends, CPUs, nvdisk, engine, the point) and
// whether it is compared across engines or of Mondrix are its `aux`
// (configOf, enginesOf, protectedOf).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildKernel, kernelDisk, type Workload } from "../../src/cli/bundled-kernel.js";
import { buildSources } from "../../src/cli/build-pipeline.js";
import { MONDRIX_DISK_BYTES } from "../../src/cli/inject/fault-injection.js";
import { nodeZlib } from "../../src/cli/snapshot-files.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import type { ElfImage } from "../../src/guest-isa/elf-types.js";
import { bytesInput } from "../../src/machine/devices/console.js";
import { getBackend } from "../../src/hypervisors/index.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import type { RunResult } from "../../src/machine/diagnosis.js";
import type { Engine } from "../../src/machine/machine.js";
import { crc32, decodeSnapshot, encodeSnapshot, HEADER_BYTES } from "../../src/migration/codec.js";
import { bootGuest, type Guest } from "../../src/migration/guest.js";
import type { Campaign, FuzzInput, Outcome } from "./campaign.js";
import { ENGINE_RADIX, enginesDrawn, ENGINES_NOTE, firstEngineDifference, refusedUnder, runDifference, type EngineChoice, type SimulatedRun } from "./generators/engines.js";
import { fixtureElfs, ROOT } from "./generators/fixtures.js";
import { applyByteEdits, elfLayout, interestingValue, type ByteEdit } from "./generators/mutate.js";
import { endingOf, windowBytesProblem } from "./generators/oracles.js";
import { auxDigits, type Rng } from "./generators/rng.js";
import { resumeFile, snapshotFileAt } from "./generators/snapshots.js";

/**
 * The source and target back ends: named here, not taken from the registry,
 * because an input's aux encodes them (digits of 5, AUX_RANGE): a saved input
 * must keep meaning the same configuration when a back end is added.
 */
const BACKENDS = ["bare", "hvm", "trap", "xen", "l4"] as const;
const KERNELS: readonly Workload[] = ["compute", "io", "syscall", "mixed", "smp"];
/** Bound of a reference run: the kernel's mixed workload takes about 5 M cycles (35 M on hvm, its exits), Mondrix 5–8 M; some fixtures never end. */
const referenceCycles = (p: Program) => (p.kernel ? 100_000_000 : 3_000_000);
/** The Mondrix variant's sources (its kernel defines a domain for its driver and grants it access through the supervisor). */
const MONDRIX = ["entry.s", "kernel.ts", "driver.ts"];
const ENGINES: readonly Engine[] = ["jit", "interp"];

// ---------------------------------------------------------------- programs and configurations

interface Program {
  name: string;
  elf: Uint8Array;
  image: ElfImage;
  /** The bundled kernel or Mondrix (prints and ends the same on every back end but trap). */
  kernel: boolean;
  /** Its disk's contents at boot (a fresh copy each call), if it has one. */
  disk?: () => Uint8Array;
}

let programList: Program[] | undefined;
function programs(): Program[] {
  if (programList) return programList;
  const out: Program[] = KERNELS.map((w) => {
    const elf = writeElf(buildKernel({ workload: w, scale: 1 }).image);
    return { name: `kernel:${w}`, elf, image: readElf(elf), kernel: true, disk: kernelDisk };
  });
  for (const f of fixtureElfs()) out.push({ name: f.name, elf: f.bytes, image: f.image, kernel: false });
  const mondrix = writeElf(buildSources(MONDRIX.map((n) => ({ file: `fixtures/mondrix/${n}`, text: readFileSync(join(ROOT, "fixtures", "mondrix", n), "utf8") }))).image);
  out.push({ name: "mondrix", elf: mondrix, image: readElf(mondrix), kernel: true, disk: () => new Uint8Array(MONDRIX_DISK_BYTES) });
  return (programList = out);
}
/** Programs are drawn from a fixed count (the kernels and the fixtures), so an aux means the same everywhere; Mondrix comes after them, chosen by its own digit. */
const PROGRAMS = 18;
const MONDRIX_PROGRAM = PROGRAMS;
/** The aux digit past the engine digit that says the program is Mondrix (1 of PROTECTED_RADIX): inputs saved before it keep their meaning (digit 0). */
const PROTECTED_RADIX = 4;
export const protectedOf = (aux: number) => Math.floor(aux / (AUX_RANGE * ENGINE_RADIX)) % PROTECTED_RADIX === 1;

export interface SnapConfig {
  program: number;
  source: (typeof BACKENDS)[number];
  target: (typeof BACKENDS)[number];
  cpus: 1 | 2;
  nvdisk: "none" | "emulated" | "passthrough";
  engine: Engine;
  /** The snapshot point, in thousandths of the uninterrupted run. */
  at: number;
}

export function configOf(aux: number): SnapConfig {
  const take = auxDigits(aux % AUX_RANGE);
  const program = protectedOf(aux) ? (take(PROGRAMS), MONDRIX_PROGRAM) : take(PROGRAMS);
  const source = BACKENDS[take(5)];
  const same = take(5) < 3;
  const other = BACKENDS[take(5)];
  const cpus = take(3) === 0 ? 2 : 1;
  const nv = take(3);
  const engine = ENGINES[take(2)];
  const at = take(950);
  const io = program === KERNELS.indexOf("io");
  const nvdisk = !io || nv === 0 ? "none" : nv === 2 && getBackend(source).passthrough ? "passthrough" : "emulated";
  // Mondrix defines its driver's domain within its first 0.5 %: one of its inputs in 25 is snapshotted in its first 2 %
  // (at 0.1–2 %), so that some are resumed before the definition and the guest defines the domain after the move.
  const early = program === MONDRIX_PROGRAM && at < 38;
  return { program, source, target: same ? source : other, cpus: cpus as 1 | 2, nvdisk, engine, at: early ? 1 + (at >> 1) : 20 + at };
}
const AUX_RANGE = PROGRAMS * 5 * 5 * 5 * 3 * 3 * 2 * 950;
/** Whether an accepted input is resumed again under the interpreter and the JIT at threshold 1 (the digit past the configuration's). */
export const enginesOf = (aux: number) => enginesDrawn(Math.floor(aux / AUX_RANGE) % ENGINE_RADIX);

const configKey = (c: SnapConfig) => `${c.program}/${c.source}/${c.cpus}/${c.nvdisk}/${c.engine}`;

function boot(p: Program, c: SnapConfig): Guest {
  return bootGuest(p.elf, p.image, c.source, {
    disk: p.disk ? memoryDisk(p.disk()) : undefined,
    nvdisk: c.nvdisk !== "none" ? memoryDisk(kernelDisk()) : undefined,
    passthrough: c.nvdisk === "passthrough",
    cpus: c.cpus,
    engine: c.engine,
    stdin: bytesInput(""),
  });
}

interface Reference {
  console: string;
  result: RunResult;
  cycles: number;
  /** JSON of the machine's stats at the end (every counter). */
  stats: string;
}

const references = new Map<string, Reference>();
/** The uninterrupted run of a configuration. */
function referenceOf(c: SnapConfig): Reference {
  const key = configKey(c);
  let ref = references.get(key);
  if (!ref) {
    const p = programs()[c.program];
    const g = boot(p, c);
    const result = g.finish(referenceCycles(p));
    ref = { console: g.console, result, cycles: g.cycles, stats: JSON.stringify(g.machine.stats()) };
    references.set(key, ref);
  }
  return ref;
}

/** Snapshot files already taken (the shrinker runs one input many times): the last few. */
const snapshots = new Map<string, Uint8Array | null>();
/** The unmutated snapshot file of a configuration (null: the run ended before a safe point). */
function snapshotOf(c: SnapConfig): Uint8Array | null {
  const key = `${configKey(c)}@${c.at}`;
  let bytes = snapshots.get(key);
  if (bytes === undefined) {
    const ref = referenceOf(c);
    const p = programs()[c.program];
    const g = boot(p, c);
    bytes = snapshotFileAt(g, Math.floor((ref.cycles * c.at) / 1000), referenceCycles(p));
    snapshots.set(key, bytes);
    if (snapshots.size > 12) snapshots.delete(snapshots.keys().next().value!);
  }
  return bytes;
}

// ---------------------------------------------------------------- mutations

type Path = (string | number)[];

/** A value an edit puts in the document (JSON-serializable, so the report can hold it). */
export type DocValue =
  | { n: number }
  | { inf: 1 | -1 }
  /** The snapshot's RAM size plus this many bytes. */
  | { ram: number }
  | { s: string }
  | { b: boolean }
  | { nul: true }
  | { arr: true }
  | { obj: true }
  | { typed: "Int32Array" | "Uint32Array" | "Uint8Array" | "Float64Array"; length: number }
  /** A Uint32Array of these elements (code ranges, grants). */
  | { u32: number[] };

export type SnapUnit =
  /** Bytes of the file as written (the header, the deflated payload). */
  | { layer: "file"; edit: ByteEdit }
  /** Bytes of the inflated payload (the JSON and the arrays), re-deflated behind a consistent header. */
  | { layer: "payload"; edit: ByteEdit }
  /** A field of the document: set, deleted or resized (indices taken modulo the array's length). */
  | { layer: "doc"; path: Path; value?: DocValue; del?: true; resize?: number }
  /** Any leaf under `under` (a number, string, boolean, or an element of a typed array), picked by `pick`. */
  | { layer: "leaf"; under: Path; pick: number; value: DocValue }
  /** A byte edit of the binary carried in the snapshot (aimed at a section's contents when `section`). */
  | { layer: "elf"; edit: ByteEdit; section?: number }
  /** The binary replaced by another program's. */
  | { layer: "elf-other"; program: number }
  /** A word of a saved RAM page: the page directory of CPU 0 (`pd`), the monitor's reserved top (`top`, frames from the end), or any saved page. */
  | { layer: "ram"; where: "pd" | "top" | "any"; frame: number; word: number; value: number }
  /**
   * The list of guest protection domains (machine.protection.guest; indices modulo its length): a domain
   * dropped, duplicated (as it is), copied as a new domain (a fresh id and guest id, its code ranges moved
   * by `shift`), two swapped; or an element of a domain's code ranges or grants moved by `delta`.
   */
  | { layer: "guest"; op: "drop" | "dup" | "copy" | "swap"; domain: number; other: number; shift: number }
  | { layer: "guest"; op: "nudge"; domain: number; field: "ranges" | "perms"; index: number; delta: number };

const TYPED = ["Int32Array", "Uint32Array", "Uint8Array", "Float64Array"] as const;
const WINDOW = [0xffc00000, 0xfffe0000, 0xfffe1000, 0xffff0000, 0xfffffffc];

function number(r: Rng): DocValue {
  return r.weighted<() => DocValue>([
    [10, () => ({ n: r.pick([0, 1, -1, 2, 3, 4, 7, 8, 16, 63, 64, 1023, 1024, 0x7fffffff, -0x80000000, 0xffffffff, 0x100000000]) })],
    [6, () => ({ n: r.pick([2 ** 53, 2 ** 53 + 2, -(2 ** 53), 0.5, -0.5, 1e300, -1e300, 1e15, 2 ** 31 + 0.25]) })],
    [3, () => ({ inf: r.chance(0.7) ? 1 : -1 })],
    [5, () => ({ ram: r.pick([0, -4, -4096, 4, 4096, 0x1000000]) })],
    [4, () => ({ n: r.pick(WINDOW) | 0 })],
    [6, () => ({ n: r.u32() | 0 })],
    [4, () => ({ n: r.int(1000) })],
  ])();
}

/** A value of another type than the field holds, mostly. */
function anyValue(r: Rng): DocValue {
  return r.weighted<() => DocValue>([
    [10, () => number(r)],
    [2, () => ({ s: r.pick(["", "x", "halted", "running", "zombie", "xen", "bare", "1"]) })],
    [2, () => ({ b: r.chance(0.5) })],
    [2, () => ({ nul: true })],
    [1, () => ({ arr: true })],
    [1, () => ({ obj: true })],
    [2, () => ({ typed: r.pick(TYPED), length: r.pick([0, 1, 8, 16, 64, 1024]) })],
  ])();
}

const cpu = (r: Rng) => r.chance(0.8) ? 0 : r.int(3);

/** One edit of the document, aimed at the fields the brief of each part names (see the file's head). */
function docUnit(r: Rng): SnapUnit {
  const doc = (path: Path, value: DocValue): SnapUnit => ({ layer: "doc", path, value });
  const c = ["machine", "cpus", cpu(r)];
  return r.weighted<() => SnapUnit>([
    [6, () => doc([...c, "regs", r.int(16)], r.chance(0.5) ? number(r) : { n: r.u32() | 0 })],
    [6, () => doc([...c, "pc"], r.weighted([[6, () => ({ ram: r.pick([0, -4, 4, 0x100000]) })], [4, () => ({ n: r.pick([...WINDOW, 1, 2, 3, 0x7ffffffc, 0x80000000, -4]) | 0 })], [2, () => number(r)]] as const)())],
    [4, () => doc(r.chance(0.5) ? [...c, "psr"] : ["neutral", cpu(r), "psr"], { n: r.chance(0.6) ? r.int(16) : r.pick([0xffffffff, 0x80000000, 0x10, 0x100, r.u32()]) | 0 })],
    [4, () => doc(r.chance(0.5) ? [...c, "cr", r.int(8)] : ["neutral", cpu(r), "cr", r.int(8)], r.chance(0.5) ? { ram: r.pick([0, -4096, 4096]) } : number(r))],
    [2, () => doc(["neutral", cpu(r), "pc"], r.chance(0.5) ? { n: r.pick([2, 0x1002, -1, ...WINDOW]) | 0 } : number(r))],
    [6, () => {
      const k = r.pick(["page", "frame", "perm"]);
      const v: DocValue = k === "frame" ? r.pick<DocValue>([{ ram: 0 }, { ram: -4096 }, { n: -4096 }, { n: 0xfffff000 | 0 }, { n: 1 }, { n: 0x2000 }]) : k === "perm" ? { n: r.pick([0, 1, 7, 15, 0xff, -1]) } : number(r);
      return doc([...c, "tlb", k, r.int(1024)], v);
    }],
    [6, () => doc(r.chance(0.7) ? [...c, r.pick(["cycles", "idleCycles", "descheduledCycles"])] : ["cycle"], number(r))],
    [5, () => doc([...c, "timer", r.pick(["period", "next", "ticks"])], number(r))],
    [4, () => doc([...c, r.pick(["instret", "traceIdx", "pauses", "lines", "startAddress"])], number(r))],
    [2, () => doc([...c, "run"], { s: r.pick(["halted", "running", "stopped", "zombie", ""]) })],
    [2, () => doc([...c, "lastFault", r.pick(["cause", "epc", "badva", "repeats"])], number(r))],
    [2, () => doc([...c, "trace", r.int(64)], number(r))],
    [4, () => doc(["machine", r.pick(["current", "quantum", "guestLimit"])], number(r))],
    [5, () => doc(["machine", "disk", r.pick(["sector", "dma", "status", "command", "completesAt", "transfers"])], number(r))],
    [5, () => doc(["machine", "nvdisk", r.pick(["sqBase", "cqBase", "sqHead", "sqTail", "cqHead", "cqTail", "qsize", "control", "status", "op", "sector", "dma", "tag", "completesAt"])], r.chance(0.5) ? { n: r.pick([0, 1, 2, 3, 15, 16, 17, 255, 256, -1]) } : number(r))],
    [1, () => doc(["machine", "console", "rxIrq"], anyValue(r))],
    [4, () => ({ layer: "leaf", under: ["machine", "counters"], pick: r.u32(), value: anyValue(r) })],
    [3, () => ({ layer: "leaf", under: ["machine", r.pick(["protection", "spin"])], pick: r.u32(), value: r.chance(0.7) ? number(r) : anyValue(r) })],
    [4, () => ({ layer: "doc", path: r.pick([["machine", "cpus"], ["neutral"], ["machine", "watched"], ["pages"], ["pageData"], ["disk"], ["nvdisk"], ["elf"], [...c, "regs"], [...c, "tlb", "frame"]]), resize: r.pick([0, 1, 2, 3, 9, -1, -4096, 4096, 100000]) })],
    [2, () => ({ layer: "doc", path: r.pick([["machine", "cpus", 0], ["neutral", 0], ["machine", "disk"], ["machine", "nvdisk"], ["machine", "protection"], ["machine", "spin"], ["exact"], ["machine", "counters"], [...c, "timer"], [...c, "tlb"]]), del: true })],
    [6, () => ({ layer: "leaf", under: ["exact"], pick: r.u32(), value: r.chance(0.7) ? number(r) : anyValue(r) })],
    [2, () => doc(["exact", r.pick(["su", "holding", "ptbr", "pgctl", "shadows", "vpsr", "vcr", "scheduler", "callback", "resumeFixups", "upcallDue", "startAddress", "protect"])], anyValue(r))],
    [3, () => doc(["pages", r.int(1 << 16)], r.chance(0.5) ? { n: r.pick([0, 1, 1023, 1024, 4095, 4096, 0xfffff, -1]) } : number(r))],
    [3, () => doc(["backend"], { s: r.pick(["bare", "hvm", "trap", "xen", "l4", "", "BARE", "xen\u0000", "kvm"]) })],
    [3, () => doc(["ramSize"], r.chance(0.6) ? { ram: r.pick([-4096, 4096, -0x100000, 0x100000, 1]) } : number(r))],
    [2, () => doc(["diskLatency"], number(r))],
    [3, () => doc(["costModel", r.pick(["alu", "load", "store", "branch", "pageTransfer", "trap", "vmExit", "hypercall", "dirtyFault", "tlbMissWalk", "interruptInjection"])], number(r))],
    [1, () => doc(["console"], r.chance(0.5) ? { s: "x".repeat(r.pick([0, 1, 4096])) } : anyValue(r))],
    [2, () => doc(["passthrough"], r.chance(0.7) ? { b: r.chance(0.5) } : anyValue(r))],
    [4, () => ({ layer: "leaf", under: [], pick: r.u32(), value: r.chance(0.6) ? number(r) : anyValue(r) })],
  ])();
}

// The guest's protection domains and the supervisor's words (docs/protection.md, docs/migration.md "Snapshot format").
const GUEST: Path = ["machine", "protection", "guest"];
/** Code addresses and grant values near the checks' edges: unaligned, the top of the address space, huge. */
const GUEST_ADDRESSES = [0, 1, 2, 4, 0x1000, 0x1002, 0x7fff_f000, 0x7fff_fffc, 0x8000_0000, 0xffff_f000, 0xffff_fffc, 0xffff_ffff];
const NAMES = ["", "kernel", "vmm", "guest-1", "guest-2", "x".repeat(64), "x".repeat(65), "\u0000", "é".repeat(40), "x".repeat(4096)];

/** A Uint32Array of `n` (address, address) pairs or (address, bytes, permission) triples drawn near the edges. */
function u32Of(r: Rng, n: number): DocValue {
  return { u32: Array.from({ length: n }, () => (r.chance(0.7) ? r.pick(GUEST_ADDRESSES) : r.u32())) };
}

/** One edit aimed at the guest's domains or the supervisor (the checks of guestDomainsProblem and Protection.restoreState). */
function guestUnit(r: Rng): SnapUnit {
  const d = r.int(4);
  const doc = (path: Path, value: DocValue): SnapUnit => ({ layer: "doc", path, value });
  const GUEST_EDITS: [number, () => SnapUnit][] = [
    // Near-valid: one element of a code range or grant moved a little or a lot (reversed, empty, unaligned, overlapping, outside).
    [14, () => ({ layer: "guest", op: "nudge", domain: d, field: r.pick(["ranges", "perms"] as const), index: r.int(64), delta: r.pick([1, 2, 3, 4, -4, 8, -8, 4096, -4096, 0x1000_0000, -0x1000_0000, 0x8000_0000]) })],
    [4, () => ({ layer: "guest", op: "drop", domain: r.chance(0.6) ? 0 : d, other: 0, shift: 0 })],
    [3, () => ({ layer: "guest", op: "dup", domain: d, other: 0, shift: 0 })],
    [5, () => ({ layer: "guest", op: "copy", domain: 1 + r.int(3), other: 0, shift: r.pick([0, 4, 0x100, 0x1000, 0x10000, 0x100000, 0x7000_0000, -0x100]) })],
    [2, () => ({ layer: "guest", op: "swap", domain: 0, other: 1 + r.int(3), shift: 0 })],
    [4, () => ({ layer: "doc", path: GUEST, resize: r.pick([0, 1, 2, 63, 64, 65, -1]) })],
    [3, () => doc([...GUEST, d, r.pick(["id", "handle"])], r.chance(0.6) ? { n: r.pick([0, 1, 2, 3, 63, 64, -1, 0x7fffffff, -0x80000000]) } : anyValue(r))],
    [3, () => doc([...GUEST, d, "name"], r.chance(0.6) ? { s: r.pick(NAMES) } : anyValue(r))],
    [5, () => doc([...GUEST, d, "ranges"], r.weighted<() => DocValue>([[6, () => u32Of(r, r.pick([0, 1, 2, 2, 4, 3]))], [1, () => u32Of(r, 2 * 65)], [2, () => anyValue(r)]])())],
    [5, () => doc([...GUEST, d, "perms"], r.weighted<() => DocValue>([[6, () => u32Of(r, r.pick([0, 2, 3, 3, 6, 4]))], [1, () => ({ u32: [0x1000, 4, r.pick([4, 5, 0xff, 0xffffffff])] })], [2, () => anyValue(r)]])())],
    [3, () => ({ layer: "leaf", under: [...GUEST, d], pick: r.u32(), value: r.chance(0.7) ? number(r) : anyValue(r) })],
    [2, () => doc([...GUEST, d], r.pick<DocValue>([{ nul: true }, { arr: true }, { obj: true }, { n: 0 }, { s: "kernel" }]))],
    [2, () => doc(GUEST, r.chance(0.5) ? { obj: true } : anyValue(r))],
    [1, () => ({ layer: "doc", path: [...GUEST, d, r.pick(["id", "handle", "name", "ranges", "perms"])], del: true })],
    // The supervisor's words (four arguments and a status): another count, another type, any value.
    [3, () => doc(["machine", "supervisor"], r.chance(0.6) ? { typed: r.pick(TYPED), length: r.pick([0, 4, 5, 6, 64]) } : anyValue(r))],
    [3, () => ({ layer: "leaf", under: ["machine"], pick: r.u32(), value: number(r) })],
    [2, () => ({ layer: "doc", path: ["machine", "supervisor"], resize: r.pick([-1, 4, 6]) })],
    [1, () => ({ layer: "doc", path: ["machine", r.pick(["supervisor", "protection"])], del: true })],
  ];
  return r.weighted(GUEST_EDITS)();
}

function ramUnit(r: Rng): SnapUnit {
  const value = r.pick([
    () => (((r.pick([0x400, 0x3ff, 0x1000, 0xfff, 0x7ffff, r.int(0x100000)]) << 12) | r.pick([1, 3, 7, 0xf])) >>> 0),
    () => r.u32(),
    () => r.pick([0, 1, 3, 0xffffffff]),
  ])();
  return r.weighted<() => SnapUnit>([
    [5, () => ({ layer: "ram", where: "pd", frame: 0, word: r.chance(0.5) ? r.int(4) : r.int(1024), value })],
    [4, () => ({ layer: "ram", where: "top", frame: r.int(64), word: r.int(1024), value })],
    [3, () => ({ layer: "ram", where: "any", frame: r.u32(), word: r.int(1024), value })],
  ])();
}

function headerUnit(r: Rng): SnapUnit {
  const at = r.pick([8, 12, 16, 20]);
  return { layer: "file", edit: { op: "set", at, size: 4, value: at === 8 ? r.pick([0, 1, 2, 4, 0xffffffff]) : interestingValue(r, 0, 1 << 16) } };
}

/** One unit; a snapshot of Mondrix (`guarded`: it holds guest domains) is mostly edited where they are. */
function generateUnit(r: Rng, guarded: boolean): SnapUnit {
  return r.weighted<() => SnapUnit>([
    [guarded ? 60 : 4, () => guestUnit(r)],
    [55, () => docUnit(r)],
    [8, () => ramUnit(r)],
    [5, () => headerUnit(r)],
    [3, () => ({ layer: "file", edit: r.chance(0.5) ? { op: "flip", at: r.int(1 << 16), bit: r.int(8) } : { op: "truncate", length: r.chance(0.5) ? r.int(HEADER_BYTES + 1) : r.int(1 << 16) } })],
    [10, () => ({ layer: "payload", edit: r.weighted<() => ByteEdit>([
      [4, () => ({ op: "flip", at: r.chance(0.7) ? r.int(2048) : r.int(1 << 18), bit: r.int(8) })],
      [3, () => ({ op: "set", at: r.chance(0.5) ? 0 : r.int(2048), size: 4, value: interestingValue(r, 0, 1 << 16) })],
      [2, () => ({ op: "set", at: 4 + r.int(2048), size: 1, value: r.pick([0x22, 0x7b, 0x7d, 0x5b, 0x30, 0x2d, 0x20, 0xff, 0x00]) })],
      [1, () => ({ op: "truncate", length: r.int(1 << 16) })],
    ])() })],
    [10, () => ({ layer: "elf", section: r.chance(0.7) ? r.int(16) : undefined, edit: r.chance(0.5) ? { op: "flip", at: r.int(1 << 16), bit: r.int(8) } : { op: "set", at: r.int(1 << 16), size: 4, value: interestingValue(r, 0, 1 << 16) } })],
    [3, () => ({ layer: "elf-other", program: r.int(PROGRAMS) })],
  ])();
}

// ---------------------------------------------------------------- applying the mutations

const isTyped = (v: unknown): v is Int32Array | Uint32Array | Uint8Array | Float64Array => ArrayBuffer.isView(v) && !(v instanceof DataView);

function valueOf(v: DocValue, ramSize: number): unknown {
  if ("n" in v) return v.n;
  if ("inf" in v) return v.inf * Infinity;
  if ("ram" in v) return ramSize + v.ram;
  if ("s" in v) return v.s;
  if ("b" in v) return v.b;
  if ("nul" in v) return null;
  if ("arr" in v) return [];
  if ("obj" in v) return {};
  if ("u32" in v) return Uint32Array.from(v.u32, (x) => x >>> 0);
  const ctor = { Int32Array, Uint32Array, Uint8Array, Float64Array }[v.typed];
  return new ctor(v.length);
}

/** The container and key a path names (indices modulo the length), or undefined when a step is missing. */
function locate(doc: unknown, path: Path): { parent: Record<string | number, unknown>; key: string | number } | undefined {
  let parent: unknown = doc;
  for (let i = 0; i < path.length; i++) {
    if (parent === null || typeof parent !== "object") return undefined;
    let key = path[i];
    if (typeof key === "number") {
      const len = Array.isArray(parent) || isTyped(parent) ? (parent as { length: number }).length : 0;
      if (!len) return undefined;
      key = key % len;
    }
    if (i === path.length - 1) return { parent: parent as Record<string | number, unknown>, key };
    parent = (parent as Record<string | number, unknown>)[key];
  }
  return undefined;
}

/** Every leaf under a node, in document order: [container, key] pairs (typed arrays count as one leaf each, an element picked later). */
function leaves(node: unknown, out: [Record<string | number, unknown>, string | number][] = []): typeof out {
  if (node === null || typeof node !== "object" || isTyped(node)) return out;
  for (const [k, v] of Object.entries(node)) {
    const key = Array.isArray(node) ? Number(k) : k;
    if (v !== null && typeof v === "object" && !isTyped(v)) leaves(v, out);
    else out.push([node as Record<string | number, unknown>, key]);
  }
  return out;
}

function setAt(parent: Record<string | number, unknown>, key: string | number, v: unknown, pick: number): void {
  const cur = parent[key];
  // An element of a typed array for a number, the array replaced otherwise.
  if (isTyped(cur) && typeof v === "number" && cur.length > 0) cur[(pick >>> 3) % cur.length] = v;
  else parent[key] = v;
}

function resize(v: unknown, n: number): unknown {
  if (Array.isArray(v)) {
    if (n <= 0) return v.slice(0, Math.max(0, v.length + n));
    // Past MAX_CPUS is enough: 100,000 copies of a CPU (three TLB arrays each) would make a 1 GB document.
    n = Math.min(n, 64);
    const out = v.slice(0, n);
    while (out.length < n && v.length) out.push(structuredClone(v[out.length % v.length]));
    return out;
  }
  if (isTyped(v)) {
    const len = n <= 0 ? Math.max(0, v.length + n) : n;
    const ctor = v.constructor as new (n: number) => Float64Array;
    const out = new ctor(len);
    out.set(v.subarray(0, Math.min(len, v.length)) as unknown as Float64Array);
    return out;
  }
  return v;
}

/** The frame numbers and page bytes of a document, when they are what the writer wrote. */
function pageOf(doc: Record<string, unknown>, frame: number): Uint8Array | undefined {
  const pages = doc.pages, data = doc.pageData;
  if (!(pages instanceof Uint32Array) || !(data instanceof Uint8Array)) return undefined;
  const i = pages.indexOf(frame);
  return i >= 0 && (i + 1) * 4096 <= data.length ? data.subarray(i * 4096, (i + 1) * 4096) : undefined;
}

function applyRam(doc: Record<string, unknown>, u: Extract<SnapUnit, { layer: "ram" }>): void {
  const ram = typeof doc.ramSize === "number" ? doc.ramSize : 0;
  const pages = doc.pages instanceof Uint32Array ? doc.pages : new Uint32Array(0);
  let frame: number;
  if (u.where === "pd") {
    const cpus = (doc.machine as { cpus?: { cr?: Int32Array }[] } | undefined)?.cpus;
    const ptbr = (doc.neutral as { cr?: number[] }[] | undefined)?.[0]?.cr?.[5] ?? cpus?.[0]?.cr?.[5] ?? 0;
    frame = (ptbr >>> 12) + u.frame;
  } else if (u.where === "top") frame = ram / 4096 - 1 - u.frame;
  else frame = pages.length ? pages[u.frame % pages.length] : 0;
  const page = pageOf(doc, frame);
  if (page) new DataView(page.buffer, page.byteOffset, page.length).setUint32(4 * u.word, u.value >>> 0, true);
}

/** An edit of the list of guest domains (nothing when the document has none, or not as the writer wrote it). */
function applyGuest(doc: Record<string, unknown>, u: Extract<SnapUnit, { layer: "guest" }>): void {
  const at = locate(doc, GUEST);
  const list = at?.parent[at.key];
  if (!Array.isArray(list) || !list.length) return;
  const i = u.domain % list.length;
  const d = list[i] as Record<string, unknown> | null;
  if (u.op === "nudge") {
    const a = d?.[u.field];
    if (a instanceof Uint32Array && a.length) a[u.index % a.length] = (a[u.index % a.length] + u.delta) >>> 0;
  } else if (u.op === "drop") list.splice(i, 1);
  else if (u.op === "dup") list.push(structuredClone(d));
  else if (u.op === "swap") [list[i], list[u.other % list.length]] = [list[u.other % list.length], list[i]];
  else if (d && typeof d === "object") {
    // A new domain: the next id and guest id, the code (if any) moved by `shift` — past the others' it is a domain the restore takes.
    const ranges = d.ranges instanceof Uint32Array ? d.ranges.map((x) => x + u.shift) : d.ranges;
    const handles = list.map((x) => (x as { handle?: unknown } | null)?.handle).filter((h): h is number => typeof h === "number");
    list.push({ ...structuredClone(d), id: list.length, handle: Math.max(0, ...handles) + 1, name: `guest-${list.length}`, ranges });
  }
}

/** The file of an input: the unmutated snapshot with its units applied (document, then payload, then file bytes). */
export function mutatedFile(base: Uint8Array, units: readonly SnapUnit[]): Uint8Array {
  let bytes = base;
  const docUnits = units.filter((u) => u.layer === "doc" || u.layer === "leaf" || u.layer === "elf" || u.layer === "elf-other" || u.layer === "ram" || u.layer === "guest");
  if (docUnits.length) {
    const doc = decodeSnapshot(base, "base", nodeZlib) as Record<string, unknown>;
    const ramSize = doc.ramSize as number;
    for (const u of docUnits) {
      if (u.layer === "doc") {
        const at = locate(doc, u.path);
        if (!at) continue;
        if (u.del) delete at.parent[at.key];
        else if (u.resize !== undefined) at.parent[at.key] = resize(at.parent[at.key], u.resize);
        else if (u.value) setAt(at.parent, at.key, valueOf(u.value, ramSize), 0);
      } else if (u.layer === "leaf") {
        const under = u.under.length ? locate(doc, u.under) : undefined;
        const root = u.under.length ? under && under.parent[under.key] : doc;
        const all = leaves(root);
        if (!all.length) continue;
        const [parent, key] = all[u.pick % all.length];
        setAt(parent, key, valueOf(u.value, ramSize), u.pick);
      } else if (u.layer === "elf") {
        const elf = doc.elf instanceof Uint8Array ? doc.elf : new Uint8Array(0);
        let edit = u.edit;
        if (u.section !== undefined && "at" in edit) {
          try {
            const contents = elfLayout(elf).contents;
            if (contents.length) {
              const [off, size] = contents[u.section % contents.length];
              edit = { ...edit, at: off + (edit.at % Math.max(size, 1)) } as ByteEdit;
            }
          } catch {
            // A layout the edits made unreadable: the edit lands where it says.
          }
        }
        doc.elf = applyByteEdits(elf, [edit]);
      } else if (u.layer === "elf-other") {
        doc.elf = programs()[u.program % programs().length].elf.slice();
      } else if (u.layer === "guest") applyGuest(doc, u);
      else applyRam(doc, u);
    }
    bytes = encodeSnapshot(doc, nodeZlib);
  }
  const payloadEdits = units.flatMap((u) => (u.layer === "payload" ? [u.edit] : []));
  if (payloadEdits.length) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const payload = applyByteEdits(new Uint8Array(nodeZlib.inflate(bytes.subarray(HEADER_BYTES), dv.getUint32(20, true))), payloadEdits);
    const deflated = nodeZlib.deflate(payload, 6);
    const out = new Uint8Array(HEADER_BYTES + deflated.length);
    out.set(bytes.subarray(0, HEADER_BYTES));
    const odv = new DataView(out.buffer);
    odv.setUint32(12, deflated.length, true);
    odv.setUint32(16, crc32(deflated), true);
    odv.setUint32(20, payload.length, true);
    out.set(deflated, HEADER_BYTES);
    bytes = out;
  }
  const fileEdits = units.flatMap((u) => (u.layer === "file" ? [u.edit] : []));
  return fileEdits.length ? applyByteEdits(bytes, fileEdits) : bytes;
}

// ---------------------------------------------------------------- running and judging

/** resumeFile (generators/snapshots.ts) on the input's target back end, its wrong result as an Outcome. */
function resume(bytes: Uint8Array, c: SnapConfig, budget: number | { until: number }, engine: { engine: Engine; jitThreshold?: number } = { engine: c.engine }): { guest: Guest; result: RunResult } | Outcome {
  const out = resumeFile(bytes, c.target, budget, engine);
  return typeof out === "string" ? { class: "wrong", message: out } : out;
}

const sameBackendOnly = (c: SnapConfig) => c.source === c.target;

/**
 * The engine oracle for an accepted file: resumed again under the interpreter
 * and under the JIT at threshold 1 with the same budget, those and the resume
 * under the input's engine (`byDefault`) must leave what the interpreter's
 * left. The file was accepted once: a refusal or a failure now is a difference.
 */
function enginesProblem(file: Uint8Array, c: SnapConfig, budget: number | { until: number }, byDefault: { guest: Guest; result: RunResult }): string | undefined {
  const of = (o: { guest: Guest; result: RunResult }): SimulatedRun => ({ result: o.result, console: o.guest.console, stats: o.guest.machine.stats(), machine: o.guest.machine });
  const again = (choice: EngineChoice, name: string): SimulatedRun | string =>
    refusedUnder(name, () => {
      const out = resume(file, c, budget, choice);
      return "class" in out ? `under ${name} only: ${out.message}` : of(out);
    });
  return firstEngineDifference(again, of(byDefault), (name, interp, other) => runDifference(`the resume under ${name}`, interp, other), c.engine);
}

export const snapshotCampaign: Campaign<SnapUnit> = {
  name: "snapshot",
  description: "snapshots of real runs (the bundled kernel, the fixtures, Mondrix with its guest domains; every back end, 1–2 CPUs, nvdisk) mutated in the file, the payload, the decoded document and the guest domains, resumed on the same or another back end",
  generate(r) {
    const aux = r.int(AUX_RANGE) + AUX_RANGE * (r.int(ENGINE_RADIX) + ENGINE_RADIX * r.int(PROTECTED_RADIX));
    const n = r.weighted([[12, 0], [48, 1], [24, 2], [16, 4]] as const);
    const guarded = protectedOf(aux);
    const units = Array.from({ length: n }, () => generateUnit(r, guarded));
    const c = configOf(aux);
    return { base: `p${c.program}-${c.source}-to-${c.target}`, units, aux };
  },
  execute(input: FuzzInput<SnapUnit>, limits) {
    const c = configOf(input.aux);
    const base = snapshotOf(c);
    if (!base) return "accepted"; // the run ended before a safe point at that cycle: nothing to resume
    const ref = referenceOf(c);
    const p = programs()[c.program];
    // Unmutated: to the reference's bound (on its own back end the two runs must then stand identical; on
    // another, the kernel must have powered off — hvm's exits make it slower than the source).
    const exact = input.units.length === 0 && sameBackendOnly(c);
    const budget = input.units.length === 0 ? { until: referenceCycles(p) } : ref.result.kind === "poweroff" ? Math.max(limits.maxCycles, 2 * ref.cycles + 100_000) : limits.maxCycles;
    const file = mutatedFile(base, input.units);
    const out = resume(file, c, budget);
    if ("class" in out) return out;
    const { guest, result } = out;
    const ending = endingOf(result);
    if (ending) return { class: "wrong", message: ending };
    const window = windowBytesProblem(guest.machine.memory, guest.rewrite.stubs, c.target);
    if (window) return { class: "wrong", message: window };
    const engines = enginesOf(input.aux) ? enginesProblem(file, c, budget, out) : undefined;
    if (engines) return { class: "wrong", message: `${c.source} -> ${c.target}: ${engines}` };
    if (input.units.length > 0) return "accepted";
    // Unmutated: the resume continues the uninterrupted run.
    if (exact) {
      const stats = JSON.stringify(guest.machine.stats());
      if (guest.console !== ref.console || JSON.stringify(result) !== JSON.stringify(ref.result) || stats !== ref.stats) {
        return { class: "wrong", message: `${c.source}: the resumed run differs from the uninterrupted one (${guest.console !== ref.console ? "console" : JSON.stringify(result) !== JSON.stringify(ref.result) ? "ending" : "counters"})` };
      }
    } else if (p.kernel && !getBackend(c.source).unfaithful && !getBackend(c.target).unfaithful && ref.result.kind === "poweroff") {
      if (guest.console !== ref.console || result.kind !== "poweroff" || result.exitCode !== ref.result.exitCode) {
        return { class: "wrong", message: `${c.source} -> ${c.target}: the resumed kernel prints or ends differently from the uninterrupted run` };
      }
    }
    return "accepted";
  },
  materialize(input) {
    const c = configOf(input.aux);
    const base = snapshotOf(c);
    const p = programs()[c.program];
    return {
      ext: ".snap",
      data: base ? mutatedFile(base, input.units) : new Uint8Array(0),
      note: `${p.name} on ${c.source} (${c.cpus} CPU${c.cpus > 1 ? "s" : ""}, nvdisk ${c.nvdisk}), snapshot at ${c.at / 10}% of the run, mutated; resume with: previrt resume FILE --hv ${c.target} --engine ${c.engine} --max-cycles N${enginesOf(input.aux) ? ` ${c.engine === "jit" ? ENGINES_NOTE : "(and --engine jit)"}` : ""}`,
    };
  },
};

