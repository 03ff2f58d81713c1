// Fuzz campaign `smp`: multiprocessor guests on one back end (`--cpus` 2–8;
// input i runs on back end i mod 5), sometimes time-sliced on fewer physical
// CPUs (`--pcpus`, not on bare), with a random `--quantum` and
// `--timeslice`, sometimes under a lock-holder preemption cure the back end
// offers (`--spinlocks`, docs/smp-virtualization.md) and sometimes with the
// nvdisk attached. Two families, both assembly built per input (annotated,
// so that lock, unlock and ticket sites exist for the cures — or, for some
// hostile inputs, left plain):
//   - hostile (`hostile-*`): a stream of units per CPU. The `guests`
//     campaign's families (random instruction words, soft-layer window
//     attacks, every hcall with hostile arguments, hostile page tables and
//     paging), plus the multiprocessor ABI: CPUs started through ports
//     0x43/0x42 (and VCPU_UP) at bad pcs, with bad stacks, or that do not
//     exist; IPIs to any CPU number; hlt on every CPU; a CPU powering off
//     while others run; atomics on the window, on the nvdisk's registers,
//     outside RAM and misaligned; test-and-set and ticket locks taken and
//     never released, released by others, at hostile addresses, and a lock
//     holder that faults (sometimes with its trap vector cleared first);
//     self-modifying code on several CPUs (generators/selfmod.ts
//     selfmodSmpUnit: a function one CPU rewrites while another calls it).
//     Oracle: no host exception; the run ends in a result (power-off or a
//     diagnosed stop); on xen and l4 the in-place VMM's read-only code and
//     stubs intact afterwards.
//   - race-free (`race-free`): each CPU runs its own random deterministic
//     program (generators/guests.ts's deterministic family, on its own data
//     and page-table-entry area; only CPU 0 prints), stores its registers,
//     adds to two shared counters under a test-and-set lock and a ticket
//     lock, and arrives at a barrier built from amoadd; CPU 0 waits at the
//     barrier and prints every CPU's registers and the counters. Oracle: the
//     console and exit status equal bare's (same CPUs, default quantum, no
//     cure), and the run powers off.
//
// Consumed by the fuzz driver (runner.ts, worker.ts); the configuration
// (back end, CPUs, pcpus, quantum, timeslice, cure, nvdisk, annotation)
// comes from the input's `aux` (configOf), the program from its units.

import { assemble } from "../../src/guest-isa/assembler/index.js";
import { encodeInstruction } from "../../src/guest-isa/encoding.js";
import { SHF_ALLOC, SHF_WRITE, SHT_PROGBITS, type ElfImage } from "../../src/guest-isa/elf-types.js";
import { HC } from "../../src/hypervisors/common/hypercalls.js";
import { backends, runElf, type RunElfOptions } from "../../src/hypervisors/index.js";
import { NVDISK_BASE } from "../../src/machine/devices/nvdisk.js";
import type { Campaign, FuzzInput } from "./campaign.js";
import { buildAnnotated, randomDeterministicBody, randomGuestBody } from "./generators/guests.js";
import { ENGINE_RADIX, enginesDrawn, ENGINES_NOTE, runElfEnginesProblem } from "./generators/engines.js";
import { endingProblem, windowProblem } from "./generators/oracles.js";
import { auxDigits, type Rng } from "./generators/rng.js";
import { selfmodSmpUnit } from "./generators/selfmod.js";
import { hcallAttack, hostileValue, pageTableAttack, pagedAccess, pageTables, PAGING_ON, PD, USER_MODE, windowAddr, windowAttack, type GuestUnit } from "./guests.js";

const BACKENDS = [...backends.keys()]; // bare, hvm, trap, xen, l4
const RAM = 4 * 1024 * 1024;
const NVDISK_SECTORS = 8;
/** Quanta drawn (the default first; 7 makes epochs shorter than most instructions' runs). */
const QUANTA = [10_000, 1_000, 100, 50, 2_000, 500, 3_000, 7] as const;
/** --timeslice (0: the default; 1: one quantum, refused when not above one vcpuSwitch — a door too; else this many of the smallest valid slice). */
const SLICE_QUANTA = [0, 1, 2, 5, 10, 20] as const;
const CURES = [undefined, "native", "pv", "delayed", "ple"] as const;
/** Which cures each back end offers (docs/smp-virtualization.md); the others are drawn rarely, to be refused. */
const OFFERED: Record<string, readonly string[]> = { bare: ["native"], hvm: ["native", "ple"], trap: ["native"], xen: ["native", "pv", "delayed"], l4: ["native", "pv", "delayed"] };

// ---------------------------------------------------------------- configuration (from aux)

export interface SmpConfig {
  backend: string;
  cpus: number;
  /** Physical CPUs (--pcpus); undefined: one per CPU. */
  pcpus?: number;
  quantum: number;
  /** --timeslice in cycles; undefined: the default. */
  timeslice?: number;
  spinlocks?: string;
  nvdisk: boolean;
  /** Whether the source goes through the annotator (race-free inputs always do). */
  annotated: boolean;
  /** Whether the run is also made under the interpreter and the JIT (translating every page at once), which must agree on everything simulated. */
  engines: boolean;
}

const RADIX = { backend: 5, cpus: 7, pcpus: 8, quantum: QUANTA.length, slice: SLICE_QUANTA.length, cure: CURES.length, nvdisk: 2, annotated: 2, engines: ENGINE_RADIX };

export function configOf(aux: number): SmpConfig {
  const take = auxDigits(aux);
  const backend = BACKENDS[take(RADIX.backend)];
  const cpus = 2 + take(RADIX.cpus);
  const p = take(RADIX.pcpus);
  const quantum = QUANTA[take(RADIX.quantum)];
  const slice = SLICE_QUANTA[take(RADIX.slice)];
  const cure = CURES[take(RADIX.cure)];
  const nvdisk = take(RADIX.nvdisk) === 1;
  const annotated = take(RADIX.annotated) === 0;
  const engines = enginesDrawn(take(RADIX.engines));
  const pcpus = p > 0 && p < cpus ? p : undefined;
  return { backend, cpus, pcpus, quantum, timeslice: pcpus && slice ? (slice === 1 ? quantum : slice * quantum * Math.ceil(2001 / quantum)) : undefined, spinlocks: cure, nvdisk, annotated, engines };
}

function drawAux(r: Rng, index: number): number {
  const backend = index % BACKENDS.length;
  const name = BACKENDS[backend];
  const cpus = r.range(2, 8);
  const pcpus = name !== "bare" && r.chance(0.5) ? r.range(1, cpus - 1) : r.chance(0.03) ? r.range(1, 7) : 0; // bare with pcpus: refused
  const quantum = r.chance(0.4) ? 0 : r.int(QUANTA.length);
  const slice = pcpus && r.chance(0.6) ? (r.chance(0.05) ? 1 : r.range(2, SLICE_QUANTA.length - 1)) : 0;
  const offered = OFFERED[name];
  const cure = r.chance(0.5) ? 0 : r.chance(0.05) ? r.range(1, CURES.length - 1) : CURES.indexOf(r.pick(offered) as (typeof CURES)[number]);
  const fields: [number, number][] = [[backend, RADIX.backend], [cpus - 2, RADIX.cpus], [pcpus, RADIX.pcpus], [quantum, RADIX.quantum], [slice, RADIX.slice], [cure, RADIX.cure], [r.chance(0.25) ? 1 : 0, RADIX.nvdisk], [r.chance(0.2) ? 1 : 0, RADIX.annotated], [r.int(RADIX.engines), RADIX.engines]];
  let aux = 0;
  for (let i = fields.length - 1; i >= 0; i--) aux = aux * fields[i][1] + fields[i][0];
  return aux;
}

// ---------------------------------------------------------------- units

/** A unit: lines of one CPU's stream, or a mapping of the hostile page tables (GuestUnit's map/pde). */
export interface SmpUnit {
  cpu: number;
  lines?: string[];
  map?: [number, number, number];
  pde?: [number, number];
}

const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;
const words = (ws: readonly number[]) => ws.map((w) => `    .word ${hex(w)}`);
const fromGuestUnit = (cpu: number, u: GuestUnit): SmpUnit => (u.words ? { cpu, lines: words(u.words) } : { cpu, map: u.map, pde: u.pde });

/** Addresses an atomic or a lock word is aimed at: the window, the nvdisk's registers, outside RAM, misaligned, code, page tables, the lock words. */
const atomicTarget = (r: Rng): string =>
  r.pick([
    () => hex(windowAddr(r)),
    () => hex(NVDISK_BASE + 4 * r.int(16) + r.pick([0, 0, 0, 1, 2])),
    () => hex(r.pick([RAM, RAM - 4, RAM - 2, 0xfffffffc, 0x7ffffffc, 0x80000000])),
    () => `lockA+${r.pick([1, 2, 3])}`,
    () => r.pick(["lockA", "lockB", "tlock", "stacks_top", "_start", "handler"]),
    () => hex(r.pick([PD, PD + 0x1000, PD + 0x1ffc])),
    () => hex(hostileValue(r)),
  ])();

/** The lock words of the race-free family, also the hostile family's usual targets. */
const LOCK = (r: Rng) => (r.chance(0.8) ? r.pick(["lockA", "lockB"]) : atomicTarget(r));
const TICKET = (r: Rng) => (r.chance(0.8) ? "tlock" : atomicTarget(r));

/** A unique label prefix per unit of an input. */
let serial = 0;

function lockTake(r: Rng, lock: string, label: string): string[] {
  const bounded = r.chance(0.5);
  return [
    `    la   a3, ${lock}`,
    ...(bounded ? [`    li   t3, ${r.pick([1, 2, 5, 50, 1000])}`] : []),
    `${label}r:`,
    "    li   t0, 1",
    "    .sensitive lock",
    "    amoswap t0, t0, 0(a3)",
    `    beqz t0, ${label}ok`,
    "    pause",
    ...(bounded ? ["    addi t3, t3, -1", `    beqz t3, ${label}ok`] : []),
    `    j    ${label}r`,
    `${label}ok:`,
  ];
}

function ticketTake(r: Rng, lock: string, label: string): string[] {
  const bounded = r.chance(0.5);
  return [
    `    la   a3, ${lock}`,
    ...(bounded ? [`    li   t3, ${r.pick([1, 3, 50, 1000])}`] : []),
    "    li   t0, 1",
    "    .sensitive ticket",
    "    amoadd t0, t0, 0(a3)",
    `${label}w:`,
    "    amoadd t1, zero, 4(a3)",
    `    beq  t0, t1, ${label}ok`,
    "    pause",
    ...(bounded ? ["    addi t3, t3, -1", `    beqz t3, ${label}ok`] : []),
    `    j    ${label}w`,
    `${label}ok:`,
  ];
}

const faulting = (r: Rng): string[] =>
  r.pick([
    ["    .word 0xffffffff"], // no such opcode
    [`    li   t1, ${hex(r.pick([0xfffffffe, RAM + 8, 0xffc00000, 0x3]))}`, "    lw   t2, 0(t1)"],
    ["    brk"],
    ["    li   t1, 0x1003", "    jr   t1"],
  ]);

/** One unit of the multiprocessor ABI on `cpu`. */
function smpAbiUnit(r: Rng, cpu: number, cpus: number): SmpUnit {
  const label = `.Lu${serial++}_`;
  const cpuNumber = () => r.weighted([[6, () => r.int(cpus)], [4, () => r.pick([cpus, cpus + 1, 8, 9, 15, 255, -1, 0x7fffffff, -0x80000000])], [1, () => r.u32() | 0]] as const)();
  const startPc = () => r.pick(["secondary", "secondary", "secondary+2", "handler", "_start", "stacks_top", hex(windowAddr(r)), hex(r.pick([0, 2, RAM, RAM - 4, 0xfffffffc, NVDISK_BASE, PD])), hex(r.u32())]);
  const lines = r.weighted<() => string[]>([
    [8, () => [`    la   t0, ${startPc()}`, "    out  0x43, t0", `    li   t1, ${cpuNumber()}`, "    out  0x42, t1"]],
    [4, () => { // a bad stack for the CPU about to start: the secondary entry pushes on it
      const n = r.range(1, Math.max(1, cpus - 1));
      const sp = r.pick([hex(windowAddr(r)), hex(r.pick([0, 1, 2, RAM, RAM + 4, 0xfffffffc, NVDISK_BASE + 8, PD + 8])), "_start", "secondary"]);
      return ["    la   t0, stacks_top", `    la   t1, ${sp}`, `    sw   t1, ${4 * n}(t0)`, "    la   t0, secondary", "    out  0x43, t0", `    li   t1, ${n}`, "    out  0x42, t1"];
    }],
    [4, () => [`    li   a0, ${cpuNumber()}`, `    la   a1, ${startPc()}`, ...words([encodeInstruction("hcall", { imm: HC.VCPU_UP })])]],
    [6, () => [...(r.chance(0.5) ? ["    sti"] : []), `    li   t0, ${cpuNumber()}`, "    out  0x44, t0", ...(r.chance(0.5) ? ["    out  0x45, zero"] : [])]],
    [4, () => [...(r.chance(0.5) ? ["    cli"] : ["    sti"]), "    hlt"]],
    [2, () => [`    li   t0, ${r.int(256)}`, "    out  0xF0, t0"]],
    [3, () => [`    li   t0, ${r.pick([100, 1000, 5000, 1, 2])}`, "    out  0x20, t0", "    sti"]],
    [6, () => [`    la   t0, ${atomicTarget(r)}`, `    li   t1, ${hex(r.u32())}`, `    ${r.pick(["amoswap", "amoadd"])} t2, t1, ${r.pick([0, 4, -4, 1, 2])}(t0)`]],
    [6, () => lockTake(r, LOCK(r), label)],
    [4, () => [`    la   a3, ${LOCK(r)}`, "    .sensitive unlock", `    sw   ${r.pick(["zero", "zero", "t1"])}, 0(a3)`]],
    [5, () => ticketTake(r, TICKET(r), label)],
    [3, () => [`    la   a3, ${TICKET(r)}`, "    lw   t0, 4(a3)", "    addi t0, t0, 1", "    .sensitive unlock", "    sw   t0, 4(a3)"]],
    [4, () => [...lockTake(r, LOCK(r), label), ...(r.chance(0.4) ? ["    mtcr tvec, zero"] : []), ...faulting(r)]],
    [2, () => ["    mtcr tvec, zero"]],
  ])();
  return { cpu, lines };
}

/** A lock taken and released in a loop (test-and-set or ticket), sometimes left held, released twice, or its holder faulting. */
function contendedUnit(r: Rng, cpu: number): SmpUnit {
  const label = `.Lu${serial++}_`;
  const ticket = r.chance(0.4);
  const lock = ticket ? TICKET(r) : LOCK(r);
  const take = ticket ? ticketTake(r, lock, `${label}t`) : lockTake(r, lock, `${label}t`);
  const release = ticket ? ["    lw   t0, 4(a3)", "    addi t0, t0, 1", "    .sensitive unlock", "    sw   t0, 4(a3)"] : ["    .sensitive unlock", "    sw   zero, 0(a3)"];
  const twist = r.weighted<() => string[]>([
    [10, () => release],
    [2, () => []], // never released
    [2, () => [...release, ...release]],
    [2, () => [...faulting(r), ...release]],
    [1, () => ["    mtcr tvec, zero", ...faulting(r), ...release]],
    [1, () => ["    cli", "    hlt", ...release]], // the holder halts
  ])();
  return { cpu, lines: [`    li   s1, ${r.range(1, 30)}`, `${label}loop:`, ...take, ...Array.from({ length: r.int(4) }, () => "    pause"), ...twist, "    addi s1, s1, -1", `    bnez s1, ${label}loop`] };
}

// ---------------------------------------------------------------- hostile family

/** Per-CPU start, dispatch and trap handler (its k0 use outside the annotated code). */
function hostileHead(cpus: number): string[] {
  const dispatch: string[] = [];
  for (let k = 1; k < cpus; k++) dispatch.push(`    li   t1, ${k}`, `    beq  t0, t1, .Lcpu${k}`);
  return [
    "    .text", "    .global _start", "_start:",
    "    la   t0, handler", "    mtcr tvec, t0",
    "    la   t0, secondary", "    out  0x43, t0",
    "    j    .Lcpu0",
    "secondary:",
    "    la   t0, handler", "    mtcr tvec, t0",
    "    in   t0, 0x40",
    "    la   t1, stacks_top", "    slli t2, t0, 2", "    add  t1, t1, t2", "    lw   sp, 0(t1)",
    "    addi sp, sp, -8", "    sw   t0, 0(sp)", "    sw   lr, 4(sp)", // pushes on its stack, whatever it is
    ...dispatch,
    "    j    .Lpark",
    "    .noannotate",
    "handler:", // interrupts: acknowledge and return; exceptions: skip the instruction
    "    mfcr k0, cause", "    andi k0, k0, 0x80", "    bnez k0, .Lirq",
    "    mfcr k0, epc", "    addi k0, k0, 4", "    mtcr epc, k0", "    iret",
    ".Lirq:", "    out  0x45, zero", "    out  0x21, zero", "    iret",
    "    .annotate",
    ".Lpark:", "    cli", "    hlt", "    j    .Lpark",
  ];
}

function hostileSource(input: FuzzInput<SmpUnit>, cfg: SmpConfig): string {
  const lines = hostileHead(cfg.cpus);
  for (let k = 0; k < cfg.cpus; k++) {
    lines.push(`.Lcpu${k}:`);
    for (const u of input.units) if (u.cpu === k && u.lines) lines.push(...u.lines);
    lines.push(k === 0 ? "    out  0xF0, zero" : "    j    .Lpark");
  }
  lines.push(
    "    .data", "    .align 4",
    `stacks_top: .word ${Array.from({ length: 8 }, (_, k) => `stack${k}`).join(", ")}`,
    "lockA: .word 0", "lockB: .word 0", "tlock: .word 0, 0",
    ...Array.from({ length: 8 }, (_, k) => `    .space 256\nstack${k}:`),
    "    .word 0",
  );
  return lines.join("\n") + "\n";
}

function hostileUnits(r: Rng, kind: string, cpus: number): SmpUnit[] {
  const cpu = () => (r.chance(0.3) ? 0 : r.int(cpus));
  const units: SmpUnit[] = [];
  // CPU 0 starts the others first (units, so the shrinker can drop a start), most of the time all of them.
  for (let k = 1; k < cpus; k++) if (r.chance(0.9)) units.push({ cpu: 0, lines: [`    li   t1, ${k}`, "    out  0x42, t1"] });
  const n = r.range(2, 14);
  if (kind === "random") {
    for (let k = 0; k < cpus; k++) if (r.chance(0.8)) units.push(...randomGuestBody(() => r.float(), r.range(10, 80)).map((w) => ({ cpu: k, lines: words([w]) })));
    for (let i = 0; i < r.range(0, 4); i++) units.push(smpAbiUnit(r, cpu(), cpus));
  } else if (kind === "window") {
    for (let i = 0; i < n; i++) units.push(r.chance(0.7) ? fromGuestUnit(cpu(), windowAttack(r)) : fromGuestUnit(cpu(), hcallAttack(r)));
  } else if (kind === "hcalls") {
    for (let i = 0; i < n; i++) units.push(r.chance(0.8) ? fromGuestUnit(cpu(), hcallAttack(r)) : smpAbiUnit(r, cpu(), cpus));
  } else if (kind === "pagetables") {
    const maps = Array.from({ length: r.range(1, 6) }, () => pageTableAttack(r));
    units.push(...maps.map((m) => fromGuestUnit(0, m)));
    for (let k = 0; k < cpus; k++) {
      if (!r.chance(0.7)) continue;
      units.push({ cpu: k, lines: words(PAGING_ON) });
      for (let i = 0; i < r.range(1, 5); i++) units.push(r.chance(0.7) ? fromGuestUnit(k, pagedAccess(r, maps)) : smpAbiUnit(r, k, cpus));
    }
  } else if (kind === "selfmod") {
    // Self-modifying code on several CPUs at once: the shared function one CPU rewrites while another calls it.
    for (let k = 0; k < cpus; k++) if (r.chance(0.8)) for (let i = r.range(1, 3); i > 0; i--) units.push({ cpu: k, lines: words(selfmodSmpUnit(r)) });
  } else if (kind === "locks") {
    // Contention under the cures: every CPU loops on the same locks, with some of the ABI's hostility among the loops.
    for (let k = 0; k < cpus; k++) for (let i = r.range(1, 4); i > 0; i--) units.push(r.chance(0.7) ? contendedUnit(r, k) : smpAbiUnit(r, k, cpus));
  } else {
    for (let i = 0; i < n; i++) units.push(smpAbiUnit(r, cpu(), cpus));
  }
  // Sometimes a CPU in user mode: the window is the VMM's only while its vCPU is in supervisor mode.
  if ((kind === "window" || kind === "hcalls" || kind === "abi" || kind === "locks") && r.chance(0.2)) {
    const k = r.int(cpus);
    const at = units.findIndex((u) => u.cpu === k && u.lines && !u.lines[0].includes("out  0x42"));
    units.splice(at < 0 ? units.length : at, 0, fromGuestUnit(k, USER_MODE));
  }
  return units;
}

function hostileImage(input: FuzzInput<SmpUnit>, cfg: SmpConfig): ElfImage {
  const image = build("smp-hostile.s", hostileSource(input, cfg), cfg.annotated);
  if (input.base !== "hostile-pagetables") return image;
  const tables = pageTables(input.units.filter((u) => u.map || u.pde).map((u) => ({ map: u.map, pde: u.pde })));
  return { ...image, sections: [...image.sections, { name: ".pt", type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, addr: PD, data: tables, size: tables.length, align: 4096 }] };
}

// ---------------------------------------------------------------- race-free family

/** Labels per CPU body: bodies are at most this long (branches go forward to a label ≤ the length). */
const MAX_BODY = 48;
/** Words of results per CPU: its ten registers. */
const RESULT_REGS = ["a0", "a1", "a2", "a3", "t0", "t1", "t2", "t3", "t4", "s1"];

function raceFreeSource(input: FuzzInput<SmpUnit>, cpus: number): string {
  const lines = [
    "    .text", "    .global _start", "_start:",
    "    in   s1, 0x41",
    "    la   t0, secondary", "    out  0x43, t0",
    "    li   t1, 1",
    ".Lstart:", "    bge  t1, s1, .Lstarted", "    out  0x42, t1", "    addi t1, t1, 1", "    j    .Lstart",
    ".Lstarted:",
    "    li   t0, 0",
    "    j    .Lcommon",
    "secondary:",
    "    in   t0, 0x40",
    ".Lcommon:", // t0 = this CPU: its trap vector, data and page-table-entry areas, then its body
    "    la   t1, handler", "    mtcr tvec, t1",
    "    slli t1, t0, 9", "    la   s0, data", "    add  s0, s0, t1",
    "    slli t1, t0, 7", "    la   s2, ptes", "    add  s2, s2, t1",
    ...Array.from({ length: cpus }, (_, k) => [`    li   t1, ${k}`, `    beq  t0, t1, .Lc${k}_0`]).flat(),
    "    j    .Lpark",
    "    .noannotate",
    "handler:", "    mfcr k0, epc", "    addi k0, k0, 4", "    mtcr epc, k0", "    iret",
    "    .annotate",
    ".Lpark:", "    cli", "    hlt", "    j    .Lpark",
  ];
  for (let k = 0; k < cpus; k++) {
    const body = new Map<number, string[]>();
    const locked: string[] = [];
    for (const u of input.units) {
      if (u.cpu !== k || !u.lines) continue;
      const m = /^#(\d+)$/.exec(u.lines[0]);
      if (m) body.set(Number(m[1]), [...(body.get(Number(m[1])) ?? []), ...u.lines.slice(1).map((l) => l.replace(/\.L(\d+)\b/g, `.Lc${k}_$1`))]);
      else locked.push(...u.lines);
    }
    for (let i = 0; i <= MAX_BODY; i++) lines.push(`.Lc${k}_${i}:`, ...(body.get(i) ?? []));
    // Its registers into its results row, then its critical sections, then the barrier.
    lines.push(`    la   s2, results+${4 * RESULT_REGS.length * k}`);
    RESULT_REGS.forEach((reg, j) => lines.push(`    sw   ${reg}, ${4 * j}(s2)`));
    lines.push(...locked);
    lines.push("    la   t0, arrived", "    li   t1, 1", "    amoadd zero, t1, 0(t0)");
    lines.push(k === 0 ? "    j    .Lbarrier" : "    j    .Lpark");
  }
  lines.push(
    ".Lbarrier:", "    in   s1, 0x41", "    la   s0, arrived",
    ".Lwait:", "    amoadd t1, zero, 0(s0)", "    beq  t1, s1, .Lall", "    pause", "    j    .Lwait",
    ".Lall:", // every row and the two counters, as hex letters, a line each
    "    la   s0, results", `    li   s1, ${RESULT_REGS.length * cpus + 2}`,
    ".Lrow:", "    lw   t4, 0(s0)", "    li   t3, 8",
    ".Lhex:", "    srli t0, t4, 28", "    addi t0, t0, 65", "    out  0x10, t0", "    slli t4, t4, 4", "    addi t3, t3, -1", "    bnez t3, .Lhex",
    "    li   t0, 10", "    out  0x10, t0",
    "    addi s0, s0, 4", "    addi s1, s1, -1", "    bnez s1, .Lrow",
    "    la   t0, results", "    lw   a0, 0(t0)", "    andi a0, a0, 255", "    out  0xF0, a0",
    "    .data", "    .align 4",
    `results: .space ${4 * RESULT_REGS.length * cpus}`,
    "counterA: .word 0", "counterB: .word 0", // right after the rows: printed with them
    "lockA: .word 0", "lockB: .word 0", "tlock: .word 0, 0", "arrived: .word 0",
    `data: .space ${512 * cpus}`, `ptes: .space ${128 * cpus}`,
  );
  return lines.join("\n") + "\n";
}

/** A critical section, K times: counterA under the test-and-set lockA, or counterB under the ticket lock. */
function lockedUnit(r: Rng, cpu: number): SmpUnit {
  const label = `.Lu${serial++}_`;
  const k = r.range(1, 12);
  const ticket = r.chance(0.5);
  const take = ticket
    ? ["    la   a3, tlock", "    li   t0, 1", "    .sensitive ticket", "    amoadd t0, t0, 0(a3)", `${label}w:`, "    amoadd t1, zero, 4(a3)", `    beq  t0, t1, ${label}in`, "    pause", `    j    ${label}w`]
    : ["    la   a3, lockA", `${label}w:`, "    li   t0, 1", "    .sensitive lock", "    amoswap t0, t0, 0(a3)", `    beqz t0, ${label}in`, "    pause", `    j    ${label}w`];
  const release = ticket ? ["    lw   t0, 4(a3)", "    addi t0, t0, 1", "    .sensitive unlock", "    sw   t0, 4(a3)"] : ["    .sensitive unlock", "    sw   zero, 0(a3)"];
  return {
    cpu,
    lines: [
      `    li   s1, ${k}`,
      `${label}loop:`,
      ...take,
      `${label}in:`,
      `    la   t2, ${ticket ? "counterB" : "counterA"}`,
      "    lw   t1, 0(t2)",
      `    addi t1, t1, ${r.range(1, 9)}`,
      ...(r.chance(0.5) ? ["    pause", "    pause"] : []), // a longer section: more chances to be preempted inside it
      "    sw   t1, 0(t2)",
      ...release,
      "    addi s1, s1, -1",
      `    bnez s1, ${label}loop`,
    ],
  };
}

function raceFreeUnits(r: Rng, cfg: SmpConfig): SmpUnit[] {
  const units: SmpUnit[] = [];
  for (let k = 0; k < cfg.cpus; k++) {
    const length = r.range(4, MAX_BODY);
    for (const [i, lines] of randomDeterministicBody(() => r.float(), length, { plainPteLoads: true })) {
      // Only CPU 0 prints (at the end) and touches the console's status port 0x11, whose receive-interrupt enable
      // is shared (a secondary's in or out there races with CPU 0's); an unfaithful back end's hole (Backend.unfaithful:
      // trap's rdpsr/wrpsr) is documented (docs/vcpus.md).
      let ls = [...lines];
      if (k !== 0) ls = ls.filter((l) => !/^\s*(out 0x1[01],|in \w+, 0x11$)/.test(l));
      if (backends.get(cfg.backend)?.unfaithful && ls.some((l) => /^\s*(rdpsr|wrpsr)\b/.test(l))) continue;
      if (ls.length) units.push({ cpu: k, lines: [`#${i}`, ...ls] });
    }
    for (let j = r.range(0, 3); j > 0; j--) units.push(lockedUnit(r, k));
  }
  return units;
}

// ---------------------------------------------------------------- running

function build(file: string, text: string, annotated: boolean): ElfImage {
  if (annotated) return buildAnnotated(file, text);
  return assemble([{ file, text: text.split("\n").filter((l) => !/^\s*\.(sensitive|noannotate|annotate)\b/.test(l)).join("\n") }]);
}

export function runOptions(cfg: SmpConfig, maxCycles: number): RunElfOptions {
  return {
    backend: cfg.backend, cpus: cfg.cpus, pcpus: cfg.pcpus, quantum: cfg.quantum, timeslice: cfg.timeslice, spinlocks: cfg.spinlocks,
    maxCycles, ramSize: RAM, nvdisk: cfg.nvdisk ? new Uint8Array(NVDISK_SECTORS * 512) : undefined,
  };
}

/**
 * One guest of either family for `cfg` (its CPUs; trap's psr hole): the base
 * and units of an input (imageOf builds it). Also the migration campaign's
 * multiprocessor guests (scripts/fuzz/migration.ts).
 */
export function drawSmpGuest(r: Rng, cfg: SmpConfig): { base: string; units: SmpUnit[] } {
  serial = 0;
  if (r.chance(0.35)) return { base: "race-free", units: raceFreeUnits(r, cfg) };
  const kind = r.weighted([[20, "random"], [10, "window"], [10, "hcalls"], [10, "pagetables"], [30, "abi"], [20, "locks"], [10, "selfmod"]] as const);
  return { base: `hostile-${kind}`, units: hostileUnits(r, kind, cfg.cpus) };
}

const raceFree = (input: FuzzInput<SmpUnit>) => input.base === "race-free";
export const imageOf = (input: FuzzInput<SmpUnit>, cfg: SmpConfig) => (raceFree(input) ? build("smp-race-free.s", raceFreeSource(input, cfg.cpus), true) : hostileImage(input, cfg));
const describe = (c: SmpConfig) =>
  [`--hv ${c.backend}`, `--cpus ${c.cpus}`, c.pcpus && `--pcpus ${c.pcpus}`, `--quantum ${c.quantum}`, c.timeslice && `--timeslice ${c.timeslice}`, c.spinlocks && `--spinlocks ${c.spinlocks}`, c.nvdisk && `(nvdisk of ${NVDISK_SECTORS} sectors)`, c.engines && ENGINES_NOTE].filter(Boolean).join(" ");

export const smpCampaign: Campaign<SmpUnit> = {
  name: "smp",
  description: "multiprocessor guests (2–8 CPUs, --pcpus, --quantum, --timeslice, --spinlocks cures) on every back end: hostile per-CPU streams and the SMP ABI; race-free programs must print what bare prints",
  generate(r, index) {
    const aux = drawAux(r, index);
    return { ...drawSmpGuest(r, configOf(aux)), aux };
  },
  execute(input, limits) {
    const cfg = configOf(input.aux);
    const image = imageOf(input, cfg);
    if (!raceFree(input)) {
      const out = runElf(image, runOptions(cfg, limits.maxCycles));
      const problem = endingProblem(out) ?? windowProblem(out, cfg.backend) ?? runElfEnginesProblem(cfg.engines, image, () => runOptions(cfg, limits.maxCycles), out);
      return problem ? { class: "wrong", message: problem } : "accepted";
    }
    // Race-free: bare is the reference (same CPUs, default quantum, no cure).
    // Generous: 6 vCPUs on one physical CPU whose ticket-lock convoy spins 2 M cycles need 5.06 M (seed 2026 input 2656).
    const maxCycles = Math.max(limits.maxCycles, 20_000_000);
    const ref = runElf(image, { cpus: cfg.cpus, maxCycles, ramSize: RAM });
    if (ref.result.kind !== "poweroff") return { class: "wrong", message: `bare: stopped (${ref.result.reason}) instead of powering off` };
    const out = runElf(image, runOptions(cfg, maxCycles));
    const problem = endingProblem(out) ?? windowProblem(out, cfg.backend) ?? runElfEnginesProblem(cfg.engines, image, () => runOptions(cfg, maxCycles), out);
    if (problem) return { class: "wrong", message: problem };
    const r = out.result;
    if (r.kind !== "poweroff") return { class: "wrong", message: `${describe(cfg)}: stopped (${r.reason}) instead of powering off` };
    if (out.console !== ref.console || r.exitCode !== ref.result.exitCode) {
      return { class: "wrong", message: `${describe(cfg)} differs from bare: exit ${r.exitCode} vs ${ref.result.exitCode}, console ${out.console === ref.console ? "same" : "differs"}` };
    }
    return "accepted";
  },
  materialize(input) {
    const cfg = configOf(input.aux);
    const source = raceFree(input) ? raceFreeSource(input, cfg.cpus) : hostileSource(input, cfg);
    const how = cfg.annotated || raceFree(input) ? "previrt build FILE -o x.elf" : "assemble it without annotating (drop the .sensitive lines)";
    const pt = input.base === "hostile-pagetables" ? "; the campaign adds the hostile page tables at 0x100000 (scripts/fuzz/smp.ts hostileImage)" : "";
    return { ext: ".s", data: source, note: `${how}, then previrt run x.elf ${describe(cfg)} --max-cycles N (RAM 4 MiB in the campaign)${raceFree(input) ? "; compare with --hv bare" : ""}${pt}` };
  },
};
