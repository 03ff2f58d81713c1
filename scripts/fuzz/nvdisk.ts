// Fuzz campaign `nvdisk`: hostile drivers of the memory-mapped disk
// (src/machine/devices/nvdisk.ts; docs/machine.md "MMIO: the nvdisk",
// docs/driver-vms.md "VMM-bypass I/O"). Each input is an annotated kernel
// (paging off, supervisor mode, every register access an `.sensitive mmio`
// site) built from units: setup registers written with hostile values
// (queue bases unaligned, at RAM's end, in a monitor's reserved top, over
// 2^32, at the register window itself; queue sizes 0, 1, 257, 2^32-1 —
// while enabled, and after disabling the device, when the geometry takes them;
// CONTROL with interrupts on and off), submission entries (bad ops, sectors
// past the disk, data addresses unaligned, over RAM's end, in the reserved
// top, wrapping 2^32, at the window), doorbells with any tail — alone, in
// storms, or followed at once by rewrites of the entries in flight — CQ_HEAD
// moves, acknowledgements, the CPU's interrupts on and off, and data
// written to the buffers. After each write that may start a request (a
// doorbell, a storm of them, CQ_HEAD) the kernel waits (bounded) until the
// device is idle, so that what it does next does not race the device's
// 50,000-cycle requests (whose end comes at another instruction on each back
// end), and at the end reads every register.
//
// Runs on bare metal, hvm, xen and l4, the device emulated and (hvm, xen,
// l4) passed through — trap is left out: the kernel's wrpsr is its
// documented hole — each under the interpreter and the JIT at threshold 1.
// Oracle: no host exception; every run ends with a power-off or a
// diagnosis; on xen and l4 the in-place VMM's read-only window intact; the
// JIT's run leaves exactly what the interpreter's left (counters, registers,
// all of RAM, generators/engines.ts) and the disk image the same; and, when
// no run's wait timed out (then what the kernel does next races the
// device), every configuration with the same guest RAM (bare and hvm; xen
// and l4, whose reserved top is not the guest's) ends as the first of them —
// bare apart from the monitors when a monitor refused a queue base
// (docs/driver-vms.md: outside guest RAM or unaligned, a bus error — only
// a base the device would take, written while it is disabled; one written
// while enabled, which the device ignores, is passed on, so such runs are
// compared with bare):
// exit status, console, the queues and buffers, the registers it read, the
// disk image and `nvdisk.errors`. The interrupt count and the registers
// read mid-flight are kept apart (a monitor delivers the line later).
// And the snapshot oracle (generators/snapshots.ts), whether or not a wait
// timed out: one of the fourteen configurations (back end, passed through or
// not, engine), drawn into the input's aux, is run again to a pseudo-random
// cycle (0.1–99.9 % of its run), snapshotted — a request in flight, held
// back, halted or refused, the device disabled, an interrupt pending —
// encoded to bytes, parsed back, restored on the same back end (for one
// input in four under the other engine) and finished: it must end exactly as
// that configuration's uninterrupted run — what is compared above, the disk
// image, cycles and every counter, every register, all of RAM; a refusal of
// the file is wrong too.

import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import type { ElfImage } from "../../src/guest-isa/elf-types.js";
import { CAUSE, IRQ } from "../../src/guest-isa/registers.js";
import { WINDOW_BACKED_BYTES } from "../../src/hypervisors/common/window.js";
import { runElf, type RunElfOptions } from "../../src/hypervisors/index.js";
import { memoryDisk, readWholeDisk } from "../../src/machine/devices/disk.js";
import { NVDISK_BASE, NVDISK_REG } from "../../src/machine/devices/nvdisk.js";
import { bootGuest } from "../../src/migration/guest.js";
import type { Campaign, FuzzInput } from "./campaign.js";
import { runDifference, type SimulatedRun } from "./generators/engines.js";
import { difference, endingProblem, windowProblem, type DifferenceStyle } from "./generators/oracles.js";
import type { Rng } from "./generators/rng.js";
import { snapshotAuxRange, snapshotDraw, snapshotNote, snapshotProblem, type SnapshotDraw } from "./generators/snapshots.js";

const RAM = 1024 * 1024;
/** The first byte of the monitor's reserved top on xen and l4. */
const RESERVED = RAM - WINDOW_BACKED_BYTES;
const SECTORS = 8;
/** The kernel's areas: the queues, the data buffers and the registers read at the end (compared), then scratch (not). */
const SQ = 0x10000;
const CQ = 0x12000;
const DATA = 0x14000;
const RESULTS = 0x18000;
const COMPARED_END = 0x18100;
const SCRATCH = 0x19000;
/** Scratch: the handler's saves, the interrupt count, registers read mid-flight, a wait that timed out. */
const SAVE = SCRATCH, IRQS = SCRATCH + 0x10, TIMEOUT = SCRATCH + 0x14, PEEK = SCRATCH + 0x20;
/** Polls of STATUS before a wait gives up, and the spin between two. */
const POLLS = 200;
const SPIN = 1000;

const CONFIGS: readonly (readonly [string, boolean])[] = [["bare", false], ["hvm", false], ["hvm", true], ["xen", false], ["xen", true], ["l4", false], ["l4", true]];
const ENGINES = [{ engine: "interp" }, { engine: "jit", jitThreshold: 1 }] as const;
/** The snapshot oracle's configuration: a back end of CONFIGS and an engine, in the loop's order. */
const SNAPSHOT_CONFIGS = CONFIGS.length * ENGINES.length;
/** The configuration and engine a draw names. */
const drawnConfig = (d: SnapshotDraw) => ({ config: CONFIGS[Math.floor(d.config / ENGINES.length)], engine: ENGINES[d.config % ENGINES.length] });
const configName = ([backend, passthrough]: readonly [string, boolean], engine: (typeof ENGINES)[number]) => `${backend}${passthrough ? " (passed through)" : ""} ${engine.engine}`;

const R = NVDISK_REG;
const mmioStore = (off: number, value: number) => [`    li   t0, ${value | 0}`, "    .sensitive mmio", `    sw   t0, ${off}(s0)`];

/** Waits until the device is idle (STATUS bit 1 clear), at most POLLS polls; a timeout is noted in scratch. `consume`: then CQ_HEAD = CQ_TAIL. */
function wait(label: string, consume: boolean): string[] {
  return [
    `    li   t1, ${POLLS}`,
    `${label}:`,
    `    li   t2, ${SPIN}`,
    `${label}s:`,
    "    addi t2, t2, -1",
    `    bnez t2, ${label}s`,
    "    .sensitive mmio",
    `    lw   t0, ${R.STATUS}(s0)`,
    "    andi t0, t0, 2",
    `    beqz t0, ${label}d`,
    "    addi t1, t1, -1",
    `    bnez t1, ${label}`,
    "    li   t0, 1",
    `    sw   t0, ${TIMEOUT}(zero)`,
    `${label}d:`,
    ...(consume ? ["    .sensitive mmio", `    lw   t0, ${R.CQ_TAIL}(s0)`, "    .sensitive mmio", `    sw   t0, ${R.CQ_HEAD}(s0)`] : []),
  ];
}

const hostileAddress = (r: Rng, aligned: number) =>
  r.pick([RAM - aligned, RAM, RAM - aligned / 2, RESERVED - aligned, RESERVED - aligned / 2, RESERVED, RESERVED + 0x1000, 0xffffffff - aligned + 1, 0xfffffffc, NVDISK_BASE, NVDISK_BASE - aligned, 0x7ffffff0, RAM + 0x1000]);

function entry(r: Rng, k: number): string[] {
  const op = r.weighted([[6, 1], [6, 2], [1, 0], [1, 3], [1, 0xffffffff]] as const);
  const sector = r.chance(0.8) ? r.int(SECTORS) : r.pick([SECTORS, SECTORS + 1, 0xffffffff, 0x80000000]);
  const addr = r.chance(0.45) ? DATA + 512 * r.int(8) : r.chance(0.2) ? DATA + r.pick([1, 2, 4, 508]) : hostileAddress(r, 512);
  const at = SQ + 16 * k;
  return [op, sector, addr, r.u32()].flatMap((v, w) => [`    li   t0, ${v | 0}`, `    sw   t0, ${at + 4 * w}(zero)`]);
}

const slot = (r: Rng) => (r.chance(0.85) ? r.int(8) : r.pick([8, 15, 255]));
const tail = (r: Rng) => (r.chance(0.8) ? r.range(0, 8) : r.pick([255, 256, 257, 0xffffffff, 0x80000000]));

/** One unit: a few lines whose labels are unique (`i`, the unit's index when drawn). */
function unit(r: Rng, i: number): string[] {
  const L = `.Lu${i}`;
  return r.weighted<() => string[]>([
    [10, () => {
      const [off, value] = r.weighted<() => [number, number]>([
        [9, () => geometry(r)],
        [4, () => [R.CONTROL, r.pick([1, 3, 0, 2, 1, 3, 0xffffffff])]],
      ])();
      return mmioStore(off, value);
    }],
    // The queues' geometry takes writes only while the device is disabled: disable, write hostile setup, enable again.
    [6, () => [...mmioStore(R.CONTROL, 0), ...Array.from({ length: r.range(1, 3) }, () => mmioStore(...geometry(r))).flat(), ...mmioStore(R.CONTROL, r.pick([1, 3]))]],
    [20, () => entry(r, slot(r))],
    [20, () => [...mmioStore(R.SQ_TAIL, tail(r)), ...wait(L, r.chance(0.8))]],
    // A storm: its first write may start a request, the rest must land before that one completes (on every
    // back end: 8 writes emulated by hvm, an exit each, take about 28,000 of the 50,000 cycles).
    [6, () => [...Array.from({ length: r.range(2, 8) }, () => mmioStore(R.SQ_TAIL, tail(r))).flat(), ...wait(L, r.chance(0.8))]],
    // Entries rewritten while requests are in flight: the device reads an entry when it starts it.
    [8, () => [...mmioStore(R.SQ_TAIL, tail(r)), ...Array.from({ length: r.range(1, 3) }, () => entry(r, slot(r))).flat(), ...wait(L, r.chance(0.8))]],
    // Room in the completion queue starts a request held back: waited for as after a doorbell.
    [4, () => [...mmioStore(R.CQ_HEAD, tail(r)), ...wait(L, false)]],
    [3, () => mmioStore(R.STATUS, r.u32())],
    [4, () => [`    li   t0, ${r.chance(0.5) ? 3 : 2}`, "    wrpsr t0"]],
    [4, () => {
      const at = DATA + 4 * r.int(1024);
      return [`    li   t0, ${r.u32() | 0}`, `    sw   t0, ${at}(zero)`];
    }],
    // Registers read mid-flight (what they say depends on when: kept in scratch).
    [4, () => ["    .sensitive mmio", `    lw   t0, ${r.pick(Object.values(R))}(s0)`, `    sw   t0, ${PEEK + 4 * r.int(8)}(zero)`]],
  ])();
}

/** A write of the queues' geometry (SQ_BASE, CQ_BASE, QSIZE): mostly a driver's values, else misaligned, hostile or out of range. */
function geometry(r: Rng): [number, number] {
  return r.weighted<() => [number, number]>([
    [1, () => [R.SQ_BASE, r.chance(0.6) ? SQ : r.chance(0.5) ? SQ + r.pick([2, 8, 4]) : hostileAddress(r, 16)]],
    [1, () => [R.CQ_BASE, r.chance(0.6) ? CQ : r.chance(0.5) ? CQ + r.pick([1, 4]) : hostileAddress(r, 8)]],
    [1, () => [R.QSIZE, r.pick([2, 4, 8, 16, 256, 0, 1, 3, 257, 0xffffffff])]],
  ])();
}

const ALL_REGS = Object.values(R);

/**
 * Before the units: a device set up as a driver sets it up (queues of 8, enabled, interrupts off) and the
 * 8 entries of its submission queue valid requests (reads and writes of sector k to buffer k), so that the
 * units' doorbells make requests and their hostile values change a working device.
 */
const PROLOGUE = [
  ...mmioStore(R.SQ_BASE, SQ), ...mmioStore(R.CQ_BASE, CQ), ...mmioStore(R.QSIZE, 8), ...mmioStore(R.CONTROL, 1),
  ...Array.from({ length: 8 }, (_, k) => [k % 3 === 2 ? 2 : 1, k, DATA + 512 * k, 0x100 + k].flatMap((v, w) => [`    li   t0, ${v}`, `    sw   t0, ${SQ + 16 * k + 4 * w}(zero)`])).flat(),
];

function source(input: FuzzInput<string[]>): string {
  // The registers at the end, after a last wait: STATUS without its pending bit (a monitor acknowledges later).
  const final = ALL_REGS.flatMap((off, k) => ["    .sensitive mmio", `    lw   t0, ${off}(s0)`, ...(off === R.STATUS ? ["    andi t0, t0, -2"] : []), `    sw   t0, ${RESULTS + 4 * k}(zero)`]);
  return `
    .text
    .global _start
_start:
    li   sp, 0x80000
    la   t0, handler
    mtcr tvec, t0
    li   s0, ${NVDISK_BASE | 0}
${PROLOGUE.join("\n")}
${input.units.flat().join("\n")}
    li   t0, 2
    wrpsr t0
${wait(".Lfinal", false).join("\n")}
${final.join("\n")}
    li   a0, 0
    out  0xF0, a0
handler:
    sw   t3, ${SAVE}(zero)
    sw   t4, ${SAVE + 4}(zero)
    mfcr t3, cause
    li   t4, ${CAUSE.INTERRUPT_BASE + IRQ.NVDISK}
    bne  t3, t4, .Lfault
    .sensitive mmio
    sw   zero, ${R.STATUS}(s0)
    lw   t3, ${IRQS}(zero)
    addi t3, t3, 1
    sw   t3, ${IRQS}(zero)
    j    .Lreturn
.Lfault:
    sw   t3, ${RESULTS + 0x80}(zero)
    mfcr t3, epc
    addi t3, t3, 4
    mtcr epc, t3
.Lreturn:
    lw   t3, ${SAVE}(zero)
    lw   t4, ${SAVE + 4}(zero)
    iret
`;
}

const image = (input: FuzzInput<string[]>) => assemble([{ file: "nvdisk.s", text: annotate("nvdisk.s", source(input)).text }]);
/** The disk every run starts with (each run its own copy): a pattern, so reads are seen. */
const freshDisk = () => Uint8Array.from({ length: SECTORS * 512 }, (_, i) => (i * 7 + (i >>> 9)) & 0xff);

interface Run {
  name: string;
  out: SimulatedRun;
  disk: Uint8Array;
}

/** What must not depend on the back end (among those with the same guest RAM). */
function observed(run: Run): string {
  const { out } = run;
  const ending = out.result.kind === "poweroff" ? out.result : { kind: out.result.kind, reason: out.result.reason };
  const words = Array.from(out.machine.memory.i32.subarray(SQ >>> 2, COMPARED_END >>> 2));
  return JSON.stringify({ ending, console: out.console, errors: out.stats.counts["nvdisk.errors"] ?? 0, disk: Array.from(run.disk), words });
}

/** How a difference is worded: a word named by its address, a disk byte by its offset (test/fuzz/difference.test.ts). */
export const STYLE: DifferenceStyle = {
  separator: ": ",
  width: 60,
  element(k, i, want, got) {
    if (k !== "words" && k !== "disk") return undefined;
    const where = k === "words" ? `the word at 0x${(SQ + 4 * i).toString(16)}` : `the disk's byte ${i}`;
    return `${where}: 0x${(got >>> 0).toString(16)} instead of 0x${(want >>> 0).toString(16)}`;
  },
};

/** The snapshot oracle on the drawn configuration, whose uninterrupted run is `drawn`: the first difference, or undefined. */
function snapshotOracle(elf: ElfImage, draw: SnapshotDraw, drawn: Run, maxCycles: number): string | undefined {
  const { config: [backend, passthrough], engine } = drawnConfig(draw);
  const want = observed(drawn);
  return snapshotProblem({
    name: drawn.name,
    guest: bootGuest(writeElf(elf), elf, backend, { ramSize: RAM, nvdisk: memoryDisk(freshDisk()), passthrough, ...engine }),
    engine,
    reference: drawn.out,
    maxCycles,
    draw,
    observed: (resumed, g) => {
      const got = observed({ name: "resumed", out: resumed, disk: readWholeDisk(g.machine.nvdisk!.backing) });
      return got === want ? undefined : `differs from the uninterrupted run: ${difference(want, got, STYLE)}`;
    },
  });
}

export const nvdiskCampaign: Campaign<string[]> = {
  name: "nvdisk",
  description: "hostile nvdisk drivers (queue bases, sizes, indices, entries, DMA addresses, doorbell storms, rewrites in flight, interrupts) on bare, hvm, xen and l4, emulated and passed through, under both engines",
  generate(r: Rng) {
    const units = Array.from({ length: r.range(4, 30) }, (_, i) => unit(r, i));
    // The snapshot oracle's draw after the units, so a seed's kernels stay what they were.
    return { base: "driver", units, aux: r.int(snapshotAuxRange(SNAPSHOT_CONFIGS)) };
  },
  execute(input, limits) {
    const elf = image(input);
    const maxCycles = Math.max(limits.maxCycles, 60_000_000);
    const draw = snapshotDraw(input.aux, SNAPSHOT_CONFIGS);
    const runs: Run[] = [];
    let drawn: Run | undefined;
    const chosen = drawnConfig(draw);
    for (const config of CONFIGS) {
      const [backend, passthrough] = config;
      const per: Run[] = [];
      for (const engine of ENGINES) {
        const disk = freshDisk();
        const options: RunElfOptions = { backend, passthrough, ramSize: RAM, maxCycles, nvdisk: disk, ...engine };
        const name = configName(config, engine);
        const out = runElf(elf, options);
        const problem = endingProblem(out) ?? windowProblem(out, backend);
        if (problem) return { class: "wrong", message: `${name}: ${problem}` };
        per.push({ name, out, disk });
      }
      const [interp, jit] = per;
      const engines = runDifference(jit.name, interp.out, jit.out) ?? (Buffer.compare(interp.disk, jit.disk) !== 0 ? `${jit.name}: the disk image differs from the interpreter's` : undefined);
      if (engines) return { class: "wrong", message: engines };
      runs.push(interp);
      if (config === chosen.config) drawn = per[ENGINES.indexOf(chosen.engine)];
    }
    const snapshot = snapshotOracle(elf, draw, drawn!, maxCycles);
    if (snapshot) return { class: "wrong", message: snapshot };
    if (runs.some((run) => run.out.machine.memory.i32[TIMEOUT >>> 2] !== 0)) return "accepted";
    // A monitor refuses a queue base outside guest RAM or unaligned (a bus error, `bypass.refused`) which
    // bare metal's device takes (and then fails its DMA): after such a refusal bare is compared with no monitor.
    // Only a base written while the device is disabled is refused (NvdiskDevice.ignoresWrite; d417c09): one
    // written while enabled is ignored on every back end, counts no refusal and keeps bare in the comparison.
    const refusing = runs.some((run) => (run.out.stats.counts["bypass.refused"] ?? 0) > 0);
    const reference = new Map<string, Run>();
    for (const run of runs) {
      const key = `${run.out.machine.memory.guestLimit}${refusing && !run.name.startsWith("bare") ? " monitor" : ""}`;
      const ref = reference.get(key);
      if (!ref) reference.set(key, run);
      else if (observed(run) !== observed(ref)) return { class: "wrong", message: `${run.name} differs from ${ref.name}: ${difference(observed(ref), observed(run), STYLE)}` };
    }
    return "accepted";
  },
  materialize(input) {
    const draw = snapshotDraw(input.aux, SNAPSHOT_CONFIGS);
    const { config, engine } = drawnConfig(draw);
    const snapshot = snapshotNote(configName(config, engine), draw, engine);
    return { ext: ".s", data: source(input), note: `unannotated kernel; build with previrt build FILE -o x.elf, then previrt run x.elf --nvdisk IMG (${SECTORS} sectors) --hv bare|hvm|xen|l4 [--passthrough] with 1 MiB of RAM, under --engine interp and jit; ${snapshot}` };
  },
};
