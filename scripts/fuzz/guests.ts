// Fuzz campaign `guests`: hostile guest kernels on every back end (bare, hvm,
// trap, xen, l4; input i runs on back end i mod 5). Five families, all
// unannotated machine code behind a trap handler that skips whatever faults:
//   - random instruction streams (scripts/fuzz/generators/guests.ts);
//   - attacks on the soft-layer window (0xFFC00000 and up: the VMM's code,
//     its shared-info page, the stubs, the unbacked part, the last word):
//     loads, stores of every width, jumps into it, from supervisor and from
//     user mode;
//   - every hcall number with hostile arguments: window addresses, addresses
//     outside RAM, unaligned, wrapping past 2^32, huge counts, and
//     multicall/mmu_update batches in guest memory full of the same;
//   - page tables mapping pages outside RAM, the monitor's reserved frames
//     (the backing of the window) and the page tables themselves, or page
//     directory entries pointing outside RAM; then paging on and accesses;
//   - self-modifying code (generators/selfmod.ts): stores rewriting the next
//     instruction, another page's code between calls, a running loop's body;
//     code written by disk DMA; a page-table change under the pc — with
//     random instructions between, a small disk attached, and the page tables
//     mapped so the guest can edit them.
// Each run is bounded by --max-cycles. Outcome: the run must end in a
// result (power-off or a diagnosed stop), and on xen and l4 the in-place
// VMM's read-only code and stubs must be intact afterwards (else: escape).
// For one input in four (a digit of its aux) the run is also made under the
// interpreter and under the JIT translating every page at once, and must
// leave exactly what the default run left (generators/engines.ts).

import { encodeInstruction } from "../../src/guest-isa/encoding.js";
import { SHF_ALLOC, SHF_WRITE, SHT_PROGBITS, type ElfImage } from "../../src/guest-isa/elf-types.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import { REG } from "../../src/guest-isa/registers.js";
import { HC } from "../../src/hypervisors/common/hypercalls.js";
import { WINDOW_BACKED_BYTES } from "../../src/hypervisors/common/window.js";
import { backends, runElf, type RunElfOptions } from "../../src/hypervisors/index.js";
import type { Campaign, FuzzInput } from "./campaign.js";
import { rawGuestImage, randomGuestBody } from "./generators/guests.js";
import { ENGINE_RADIX, enginesDrawn, ENGINES_NOTE, runElfEnginesProblem } from "./generators/engines.js";
import { endingProblem, windowProblem } from "./generators/oracles.js";
import { auxDigits, type Rng } from "./generators/rng.js";
import { SELFMOD_DISK_LATENCY, SELFMOD_DISK_SECTORS, selfmodUnit } from "./generators/selfmod.js";

const BACKENDS = [...backends.values()];
const RAM = 4 * 1024 * 1024;
/** Physical base of the monitor's reserved frames on xen and l4 (the window's backing). */
const RESERVED = RAM - WINDOW_BACKED_BYTES;
/** Guest data: hypercall argument blocks. */
const DATA = 0x20000;
/** The hostile page directory and its one page table (VA 0–4 MiB) and a second one (the top 4 MiB). */
export const PD = 0x100000;
export const PT_LOW = PD + 0x1000;
const PT_HIGH = PD + 0x2000;

const enc = (m: string, f: { a?: number; b?: number; c?: number; imm?: number } = {}) => encodeInstruction(m, f);
const li = (rd: number, value: number): number[] => {
  const v = value >>> 0;
  return [enc("lui", { a: rd, imm: v >>> 12 }), enc("ori", { a: rd, b: rd, imm: v & 0xfff })];
};

export const WINDOW_ADDRS = [0xffc00000, 0xffc00004, 0xffdffffc, 0xfffdfffc, 0xfffe0000, 0xfffe0004, 0xfffe0100, 0xfffe1000, 0xfffe1004, 0xfffe1ffc, 0xfffe2000, 0xffff0000, 0xffff0010, 0xfffff000, 0xfffffffc, 0xfffffffe, 0xffffffff];
export const windowAddr = (r: Rng) => (r.chance(0.7) ? r.pick(WINDOW_ADDRS) : (0xffc00000 + r.int(0x400000)) >>> 0);
export const hostileValue = (r: Rng) =>
  r.pick([
    () => windowAddr(r),
    () => r.pick([RAM - 4, RAM, RAM + 4, RESERVED, RESERVED + 0x1000, RESERVED - 4, 0x7ffffffc, 0x80000000, 0xfffffff0, 0xfffffffc, 0xffffffff]),
    () => r.pick([1, 2, 3, 5, 0x1002, DATA + 2, DATA + 1]), // unaligned
    () => r.pick([0, 1, 2, 16, 17, 63, 64, 65, 255, 0x10000, 0x7fffffff]), // counts
    () => DATA + 16 * r.int(8),
    () => r.pick([0x1000, 0x1010, PD, PT_LOW, PT_HIGH]), // own code, own page tables
    () => r.u32(),
  ])() >>> 0;

/** A unit: a group of instruction words, or a mapping added to the hostile page tables. */
export interface GuestUnit {
  words?: number[];
  /** [va, pa, flags] for the page tables; pa may lie anywhere. */
  map?: [number, number, number];
  /** [pd index, value]: a raw page-directory entry. */
  pde?: [number, number];
}

export function windowAttack(r: Rng): GuestUnit {
  const addr = windowAddr(r);
  const op = r.pick(["lw", "lh", "lhu", "lb", "lbu", "sw", "sh", "sb", "jalr"]);
  const words = [...li(REG.t0, addr), ...li(REG.t1, r.u32())];
  words.push(op === "jalr" ? enc("jalr", { a: REG.t2, b: REG.t0, imm: 0 }) : enc(op, { a: REG.t1, b: REG.t0, imm: r.pick([0, 4, -4, 1]) }));
  return { words };
}

export function hcallAttack(r: Rng): GuestUnit {
  const words: number[] = [];
  // Sometimes a batch in guest memory first: multicall entries {op, a0, a1, a2} or mmu_update pairs (address, value).
  if (r.chance(0.4)) {
    const n = r.range(1, 8);
    for (let k = 0; k < 4 * n; k++) {
      const v = k % 4 === 0 && r.chance(0.7) ? r.int(20) : hostileValue(r);
      words.push(...li(REG.t0, DATA + 4 * k), ...li(REG.t1, v), enc("sw", { a: REG.t1, b: REG.t0, imm: 0 }));
    }
  }
  // a0 is the address argument of the batch calls, a1 their count: aim them.
  words.push(...li(REG.a0, r.weighted([[3, () => DATA], [4, () => windowAddr(r)], [4, () => hostileValue(r)]] as const)()));
  words.push(...li(REG.a1, r.chance(0.6) ? r.range(1, 4) : hostileValue(r)));
  for (const a of [REG.a2, REG.a3]) words.push(...li(a, r.chance(0.3) ? DATA : hostileValue(r)));
  const n = r.chance(0.8) ? (r.chance(0.3) ? r.pick([HC.MMU_UPDATE, HC.MULTICALL]) : r.pick(Object.values(HC))) : r.pick([17, 18, 31, 63, 127, 255, r.int(0x10000)]);
  words.push(enc("hcall", { imm: n }));
  return { words };
}

export function pageTableAttack(r: Rng): GuestUnit {
  if (r.chance(0.15)) return { pde: [r.pick([0, 1, 0x3ff, 0x3fe, r.int(1024)]), (r.pick([RAM, RESERVED, 0xfffff000, 0x7ffff000, PD, r.u32() & ~0xfff]) | 1) >>> 0] };
  const va = r.pick([0x200000, 0x201000, 0x3ff000, 0xffc00000, 0xfffe0000, 0xfffe1000, 0xffff0000, 0xfffff000, 0x3ff000]) >>> 0;
  const pa = r.pick([RAM, RAM + 0x1000, 0x7ffff000, 0xfffff000, RESERVED, RESERVED + 0x1000, RESERVED + 0x10000, RAM - 0x1000, PD, PT_LOW, 0x1000]) >>> 0;
  return { map: [va, pa, r.pick([0, 2, 4, 6])] };
}

/** The accesses after paging is on: through every hostile mapping. */
export function pagedAccess(r: Rng, maps: readonly GuestUnit[]): GuestUnit {
  const m = maps.length ? r.pick(maps).map : undefined;
  const va = m ? m[0] : r.pick([0x200000, 0xfffe0000, 0xffc00000]);
  return { words: [...li(REG.t0, (va + 4 * r.int(8)) >>> 0), ...li(REG.t1, r.u32()), enc(r.pick(["sw", "lw", "sb", "lbu"]), { a: REG.t1, b: REG.t0, imm: 0 })] };
}

/** psr ← 0: user mode, interrupts off (the trap handler runs in supervisor mode and returns to user mode). */
export const USER_MODE: GuestUnit = { words: [enc("addi", { a: REG.t0, b: REG.zero, imm: 0 }), enc("wrpsr", { b: REG.t0 })] };

export const PAGING_ON: number[] = [...li(REG.t0, PD), enc("mtcr", { b: REG.t0, imm: 5 }), ...li(REG.t0, 1), enc("mtcr", { b: REG.t0, imm: 7 })];

/** The page directory and tables for a guest: identity for its code and data, plus the hostile mappings. */
export function pageTables(units: readonly GuestUnit[]): Uint8Array {
  const words = new Uint32Array(3 * 1024);
  words[0] = PT_LOW | 1;
  words[0x3ff] = PT_HIGH | 1;
  for (let p = 0; p < 0x40; p++) words[1024 + p] = (p << 12) | 3; // the first 256 KiB (code, data) identity, writable
  for (const u of units) {
    if (u.map) {
      const [va, pa, flags] = u.map;
      const table = va >>> 22 === 0 ? 1 : va >>> 22 === 0x3ff ? 2 : -1;
      if (table > 0) words[1024 * table + ((va >>> 12) & 1023)] = ((pa & ~0xfff) | flags | 1) >>> 0;
    }
    if (u.pde) words[u.pde[0]] = u.pde[1];
  }
  return new Uint8Array(words.buffer);
}

export function guestImage(input: FuzzInput<GuestUnit>): ElfImage {
  const body = input.units.flatMap((u) => u.words ?? []);
  const paged = input.base === "pagetables";
  const image = rawGuestImage(paged ? [...PAGING_ON, ...body] : body);
  if (!paged && input.base !== "selfmod") return image;
  const tables = pageTables(input.units);
  // selfmod: its units turn paging on themselves, and edit the low page table: the tables' own pages mapped too.
  if (input.base === "selfmod") for (const at of [PD, PT_LOW, PT_HIGH]) tables.set(u32le(at | 3), 4 * (1024 + (at >>> 12)));
  return { ...image, sections: [...image.sections, { name: ".data", type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, addr: PD, data: tables, size: tables.length, align: 4096 }] };
}

const u32le = (v: number) => new Uint8Array(new Uint32Array([v >>> 0]).buffer);

/** Input i's configuration, from its aux: the back end (i mod 5) and whether the engines are compared. */
export function configOf(aux: number): { backend: (typeof BACKENDS)[number]; engines: boolean } {
  const take = auxDigits(aux);
  return { backend: BACKENDS[take(BACKENDS.length)], engines: enginesDrawn(take(ENGINE_RADIX)) };
}

/** The run's options (selfmod guests get a small disk, fresh for each run). */
function runOptions(input: FuzzInput<GuestUnit>, maxCycles: number): RunElfOptions {
  const disk = input.base === "selfmod" ? { disk: new Uint8Array(SELFMOD_DISK_SECTORS * 512), diskLatency: SELFMOD_DISK_LATENCY } : {};
  return { backend: configOf(input.aux).backend, maxCycles, ramSize: RAM, ...disk };
}

export const guestsCampaign: Campaign<GuestUnit> = {
  name: "guests",
  description: "hostile guests (random streams, window attacks, every hcall with hostile arguments, hostile page tables, self-modifying code) on every back end; a quarter also under both engines",
  generate(r, index) {
    const kind = r.weighted([[40, "random"], [20, "window"], [25, "hcalls"], [15, "pagetables"], [12, "selfmod"]] as const);
    let units: GuestUnit[];
    if (kind === "random") units = randomGuestBody(() => r.float(), r.range(20, 200)).map((w) => ({ words: [w] }));
    else if (kind === "window") units = Array.from({ length: r.range(1, 12) }, () => (r.chance(0.8) ? windowAttack(r) : hcallAttack(r)));
    else if (kind === "hcalls") units = Array.from({ length: r.range(1, 10) }, () => hcallAttack(r));
    else if (kind === "selfmod") units = Array.from({ length: r.range(1, 8) }, () => ({ words: selfmodUnit(r, { pd: PD, ptLow: PT_LOW }) }));
    else {
      const maps = Array.from({ length: r.range(1, 6) }, () => pageTableAttack(r));
      units = [...maps, ...Array.from({ length: r.range(1, 10) }, () => (r.chance(0.8) ? pagedAccess(r, maps) : hcallAttack(r)))];
    }
    // Sometimes from user mode: the window belongs to the VMM only while the virtual CPU is in supervisor mode.
    if ((kind === "window" || kind === "hcalls") && r.chance(0.3)) units.unshift(USER_MODE);
    return { base: kind, units, aux: (index % BACKENDS.length) + BACKENDS.length * r.int(ENGINE_RADIX) };
  },
  execute(input, limits) {
    const { backend, engines } = configOf(input.aux);
    const image = guestImage(input);
    const out = runElf(image, runOptions(input, limits.maxCycles));
    const problem = endingProblem(out) ?? windowProblem(out, backend.name) ?? runElfEnginesProblem(engines, image, () => runOptions(input, limits.maxCycles), out);
    return problem ? { class: "wrong", message: problem } : "accepted";
  },
  materialize(input) {
    const { backend, engines } = configOf(input.aux);
    const disk = input.base === "selfmod" ? `; a disk of ${SELFMOD_DISK_SECTORS} zeroed sectors, latency ${SELFMOD_DISK_LATENCY} cycles` : "";
    return { ext: ".elf", data: writeElf(guestImage(input)), note: `run with: previrt run FILE --hv ${backend.name} --max-cycles N${engines ? ` ${ENGINES_NOTE}` : ""} (RAM 4 MiB in the campaign${disk})` };
  },
};
