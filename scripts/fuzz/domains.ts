// Fuzz campaign `domains`: a hostile guest beside a reference guest on the
// multi-guest host (src/hypervisors/domains, docs/driver-vms.md), on xen, l4
// and hvm. The hostile guest is G32 assembly built from units biased toward
// the multi-guest ABI: domain ops through the ports 0x60–0x65 and, on xen,
// hypercalls 18–28 (alone and inside MULTICALL batches; on l4 the same
// numbers are IPCs from its in-place VMM, reached through the ports), with
// random and boundary arguments (forged and saved grant refs, foreign and
// out-of-range domids, ports, pages outside its RAM or in the monitor's
// reserved top, its own code), map/unmap/revoke races against the host's
// page copies, DEV_* ops out of order, writes to its mapped pages, paging
// turned on with page tables on its shared pages, stray
// port accesses, interrupts on and off, halts, power-offs with any code;
// a second CPU running the same program at once;
// with the memory-mapped disk (emulated or passed through), queue bases and
// DMA addresses outside guest RAM and doorbells out of order.
//
// The reference guest is either a small fixture (below) that grants pages
// to its peer, allocates event ports for it, publishes to it, maps whatever
// the peer may have granted and sends it events — all with results it never
// branches on — or the bundled kernel running `compute`, which shares
// nothing. Oracle: no host exception; the reference's console, ending,
// guest RAM (less the pages its peer may write), cycles and executed cycles exactly what they are beside a benign (idle)
// peer in the same configuration (console and ending only when the peer
// legitimately raised the reference's event line: see execute); every domain that ended did so with a
// power-off or a diagnosis; on xen and l4 the in-place VMM's read-only code
// and stubs in both guests' machines unchanged.
//
// For one input in four (a digit of its aux past the configuration's) the
// hostile run is made again under the interpreter and under the JIT at
// threshold 1 (every page translated from its first execution), and every
// domain must end under the JIT at threshold 1 and under the default engine
// exactly as under the interpreter — ending, console, counters, registers,
// RAM, executed cycles (generators/engines.ts).
//
// Consumed by the fuzz driver (runner.ts, worker.ts); input i's configuration
// (back end, order, roles, the disk) comes from its `aux`.

import { annotate } from "../../src/annotator/index.js";
import { buildKernel } from "../../src/cli/bundled-kernel.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import type { ElfImage } from "../../src/guest-isa/elf-types.js";
import { IRQ } from "../../src/guest-isa/registers.js";
import { HC } from "../../src/hypervisors/common/hypercalls.js";
import { WINDOW_BACKED_BYTES } from "../../src/hypervisors/common/window.js";
import { DomainHost, type DomainOutcome, type DomainSpec } from "../../src/hypervisors/domains/host.js";
import { getBackend, prepareImage } from "../../src/hypervisors/index.js";
import { NVDISK_BASE, NVDISK_REG } from "../../src/machine/devices/nvdisk.js";
import type { Machine } from "../../src/machine/machine.js";
import type { Campaign, FuzzInput } from "./campaign.js";
import { ENGINE_RADIX, enginesDrawn, ENGINES_NOTE, firstEngineDifference, runDifference, type EngineChoice, type SimulatedRun } from "./generators/engines.js";
import { endingOf, windowBytesProblem } from "./generators/oracles.js";
import { auxDigits, type Rng } from "./generators/rng.js";

/**
 * The back ends hosting the guests: named here, not taken from the registry's
 * hostingBackends, because an input's aux encodes them (a digit of 3,
 * configOf): a saved input must keep meaning the same back end when one is added.
 */
const BACKENDS = ["xen", "l4", "hvm"] as const;
/** The hostile guest's RAM, and the physical base of the monitor's reserved top of it on xen and l4. */
const RAM = 1024 * 1024;
const RESERVED = RAM - WINDOW_BACKED_BYTES;
/** The hostile guest's pages: data it grants, pages it maps grants onto, its nvdisk queues. */
const GRANT_PAGES = [0x20000, 0x21000, 0x22000];
const MAP_PAGES = [0x40000, 0x41000, 0x42000, 0x43000];
const QUEUE = 0x50000;
/** The fixture reference's pages: a secret granted read-only, a page granted writable, pages it maps foreign grants onto. */
const REF_RAM = 1024 * 1024;
const KERNEL_RAM = 4 * 1024 * 1024;
const NVDISK_SECTORS = 8;

// ---------------------------------------------------------------- configuration (from aux)

export interface DomainsConfig {
  backend: (typeof BACKENDS)[number];
  /** The reference: the fixture below, or the bundled kernel (compute). */
  reference: "fixture" | "kernel";
  /** Whether the hostile guest is domid 0 (it then runs first in every window). */
  hostileFirst: boolean;
  /** "driver": restarted when it crashes; "server": serves block (and nvdisk) to the reference; "guest": neither. */
  role: "driver" | "server" | "guest";
  /** Its in/out and MMIO accesses through the annotator's sites (else raw, trapping). */
  annotated: boolean;
  nvdisk: "none" | "emulated" | "passthrough";
  /** CPUs of the hostile guest's machine (a `startCpu` unit starts CPU 1 on the same program). */
  cpus: 1 | 2;
}

export function configOf(aux: number): DomainsConfig {
  const take = auxDigits(aux);
  return {
    backend: BACKENDS[take(3)],
    reference: take(6) === 0 ? "kernel" : "fixture",
    hostileFirst: take(2) === 1,
    role: (["driver", "server", "guest"] as const)[take(3)],
    annotated: take(2) === 1,
    nvdisk: (["none", "emulated", "passthrough"] as const)[take(3)],
    cpus: take(3) === 0 ? 2 : 1,
  };
}
const AUX_RANGE = 3 * 6 * 2 * 3 * 2 * 3 * 3;
/** Whether the input's hostile run is also made under the interpreter and the JIT at threshold 1 (the digit past the configuration's). */
const enginesOf = (aux: number) => enginesDrawn(Math.floor(aux / AUX_RANGE) % ENGINE_RADIX);

/** The aux of a configuration (tests build inputs with it). */
export function auxOf(c: DomainsConfig): number {
  for (let a = 0; a < AUX_RANGE; a++) if (JSON.stringify(configOf(a)) === JSON.stringify(c)) return a;
  throw new Error(`no aux gives ${JSON.stringify(c)}`);
}

// ---------------------------------------------------------------- the reference

const REF_SECRET = 0x30000;
const REF_SHARED = 0x31000;
const REF_MAPS = 0x34000;
const REF_RESULTS = 0x3f000;

/**
 * The fixture reference: reads its domid, takes the other (0/1) as its peer;
 * grants the peer its secret page read-only and another page writable,
 * allocates two event ports for it, publishes block to it (a peer that does
 * not serve block refuses); then 12 rounds of: map the peer's grants 0–2
 * (whatever it granted), write the writable page, send on both ports,
 * unmap, acknowledge every event, print the round; then revoke the writable grant. Results are stored,
 * never branched on, so its path and cycles are the same whatever the peer
 * does. At the end it prints whether the secret page and its code are intact.
 */
function referenceSource(): string {
  const op = (o: string, a0: string, a1: string, a2: string, save: number) => `
    ${a0}
    out  0x61, t0
    ${a1}
    out  0x62, t0
    ${a2}
    out  0x63, t0
    li   t0, ${HC[o as keyof typeof HC]}
    out  0x64, t0
    in   t0, 0x64
    li   t1, ${REF_RESULTS + 4 * save}
    sw   t0, 0(t1)`;
  const peer = "mv   t0, s0";
  const lit = (v: number) => `li   t0, ${v}`;
  const fromMem = (save: number) => `li   t1, ${REF_RESULTS + 4 * save}\n    lw   t0, 0(t1)`;
  return `
    .text
    .global _start
_start:
    li   sp, 0x80000
    la   t0, fault
    mtcr tvec, t0
    li   t0, ${REF_SECRET}
    li   t1, 0x5EC2E700
    sw   t1, 0(t0)
    sw   t1, 4092(t0)
    in   t0, 0x60
    li   t1, 1
    sub  s0, t1, t0              # the peer: the other of 0 and 1
${op("GNT_GRANT", peer, lit(REF_SECRET), lit(1), 0)}
${op("GNT_GRANT", peer, lit(REF_SHARED), lit(0), 1)}
${op("EVT_ALLOC", peer, lit(0), lit(0), 2)}
${op("EVT_ALLOC", peer, lit(0), lit(0), 3)}
${op("DEV_LOOKUP", lit(1), lit(0), lit(0), 4)}
${op("DEV_PUBLISH", lit(1), fromMem(0), fromMem(2), 5)}
${op("DEV_STATUS", lit(1), lit(0), lit(0), 6)}
    li   s1, 0
.Lround:
${[0, 1, 2].map((r) => op("GNT_MAP", peer, lit(r), lit(REF_MAPS + 0x1000 * r), 8 + r)).join("")}
    li   t1, ${REF_SHARED}
    sw   s1, 0(t1)
    sw   s1, 2048(t1)
${op("EVT_SEND", fromMem(2), lit(0), lit(0), 12)}
${op("EVT_SEND", fromMem(3), lit(0), lit(0), 13)}
${[0, 1, 2].map((r) => op("GNT_UNMAP", lit(REF_MAPS + 0x1000 * r), lit(0), lit(0), 14 + r)).join("")}
    li   t0, -1
    out  0x65, t0
    la   a0, msg_round
    call puts
    addi a0, s1, 48
    out  0x10, a0
    li   a0, 10
    out  0x10, a0
    addi s1, s1, 1
    li   t0, 12
    blt  s1, t0, .Lround
${op("GNT_REVOKE", lit(1), lit(0), lit(0), 17)}
    li   t0, ${REF_SECRET}
    lw   t1, 0(t0)
    lw   t2, 4092(t0)
    li   t3, 0x5EC2E700
    la   a0, changed
    bne  t1, t3, .Lsay
    bne  t2, t3, .Lsay
    la   a0, intact
.Lsay:
    call puts
    li   a0, 0
    out  0xF0, a0
puts:
    lbu  t0, 0(a0)
    beqz t0, .Lputs_end
    out  0x10, t0
    addi a0, a0, 1
    j    puts
.Lputs_end:
    ret
fault:
    mfcr t0, cause
    addi a0, t0, 100
    out  0xF0, a0
    .data
msg_round: .asciz "round "
intact: .asciz "secret intact\\n"
changed: .asciz "secret CHANGED\\n"
`;
}

let fixtureImage: ElfImage | undefined;
let kernelImage: ElfImage | undefined;
function referenceImage(kind: DomainsConfig["reference"]): ElfImage {
  if (kind === "kernel") return (kernelImage ??= buildKernel({ workload: "compute", scale: 1 }).image);
  return (fixtureImage ??= assemble([{ file: "reference.s", text: annotate("reference.s", referenceSource()).text }]));
}

// ---------------------------------------------------------------- the hostile guest

/** A unit: lines of assembly (the shrinker drops whole units). */
export interface DomainsUnit {
  lines: string[];
}

const DOMAIN_OPS = [HC.GNT_GRANT, HC.GNT_MAP, HC.GNT_UNMAP, HC.GNT_REVOKE, HC.EVT_ALLOC, HC.EVT_BIND, HC.EVT_SEND, HC.DEV_LOOKUP, HC.DEV_PUBLISH, HC.DEV_ACCEPT, HC.DEV_STATUS];
/** Saved results live in s0–s2: the next op may use a ref or port it was really given. */
const SAVED = ["s0", "s1", "s2"];

/** The reference's domid, seen from the hostile guest (most ops name it). */
let peerId = 0;
const domid = (r: Rng) => (r.chance(0.6) ? peerId : r.pick([0, 1, 2, 3, -1, 63, 64, 0x7fffffff, -0x80000000, r.u32() | 0]));
const page = (r: Rng) =>
  r.chance(0.6) ? r.pick([...GRANT_PAGES, ...MAP_PAGES]) : r.pick([...GRANT_PAGES, ...MAP_PAGES, ...MAP_PAGES, 0x1000, 0, RAM - 0x1000, RAM, RESERVED, RESERVED - 0x1000, RESERVED + 0x1000, QUEUE, 0x40004, 0x41001, -0x1000, 0x7ffff000, (r.u32() & ~0xfff) | 0]);
const ref = (r: Rng) => r.pick([0, 1, 0, 1, 0, 1, 2, 3, 1023, 1024, -1, 0x10000, r.u32() | 0]);
const port = (r: Rng) => r.pick([0, 1, 2, 3, 4, 1, 2, 30, 31, 32, -1, 0x80000001, r.u32() | 0]);
const kind = (r: Rng) => r.pick([1, 1, 2, 0, 3, -1]);

/** Arguments that fit the op most of the time (so it gets past the first checks), anything some of the time. */
function argsFor(r: Rng, op: number): (number | string)[] {
  const any = () => r.pick([domid, page, ref, port, kind])(r);
  const saved = () => r.pick(SAVED);
  const maybeSaved = (v: number) => (r.chance(0.3) ? saved() : v);
  if (r.chance(0.15)) return [any(), any(), any()];
  switch (op) {
    case HC.GNT_GRANT: return [domid(r), page(r), r.pick([0, 1, 0, 1, 2, -1])];
    case HC.GNT_MAP: return [domid(r), maybeSaved(ref(r)), page(r)];
    case HC.GNT_UNMAP: return [page(r), any(), any()];
    case HC.GNT_REVOKE: return [maybeSaved(ref(r)), any(), any()];
    case HC.EVT_ALLOC: return [domid(r), any(), any()];
    case HC.EVT_BIND: return [domid(r), maybeSaved(port(r)), any()];
    case HC.EVT_SEND: return [maybeSaved(port(r)), any(), any()];
    case HC.DEV_LOOKUP: case HC.DEV_ACCEPT: case HC.DEV_STATUS: return [kind(r), any(), any()];
    case HC.DEV_PUBLISH: return [kind(r), maybeSaved(ref(r)), maybeSaved(port(r))];
    default: return [any(), any(), any()];
  }
}

const load = (reg: string, v: number | string) => (typeof v === "string" ? `mv   ${reg}, ${v}` : `li   ${reg}, ${v | 0}`);
const pickOp = (r: Rng) => (r.chance(0.92) ? r.pick(DOMAIN_OPS) : r.pick([0, 11, 17, 29, 30, -1, 0x7fffffff]));
/** Sometimes keep the result (a0) in a saved register for later ops. */
const save = (r: Rng) => (r.chance(0.5) ? [`mv   ${r.pick(SAVED)}, a0`] : []);

/** A domain op through the device's ports; an ARG register is sometimes left as it was (stale). */
function portOp(r: Rng): DomainsUnit {
  const op = pickOp(r);
  const args = argsFor(r, op);
  const lines: string[] = [];
  args.forEach((v, i) => {
    if (r.chance(0.1)) return;
    lines.push(load("t0", v), `out  ${0x61 + i}, t0`);
  });
  lines.push(`li   t0, ${op}`, "out  0x64, t0", "in   a0, 0x64");
  if (r.chance(0.3)) lines.push(`in   a1, ${r.pick([0x61, 0x62, 0x63, 0x65])}`);
  return { lines: [...lines, ...save(r)] };
}

/** The same op as a xen hypercall (raw guests only: `hcall` is not for annotated source). */
function hcallOp(r: Rng): DomainsUnit {
  const op = pickOp(r);
  const args = argsFor(r, op);
  return { lines: [load("a0", args[0]), load("a1", args[1]), load("a2", args[2]), `hcall ${op >>> 0 > 255 ? 18 : op}`, ...save(r)] };
}

/** A MULTICALL batch of domain ops (xen, raw): entries {op, a0, a1, a2} at 0x60000, sometimes a hostile address or count. */
function multicall(r: Rng): DomainsUnit {
  const n = r.range(1, 6);
  const lines = ["li   t2, 0x60000"];
  for (let i = 0; i < n; i++) {
    const op = pickOp(r);
    const args = argsFor(r, op);
    lines.push(`li   t0, ${op}`, `sw   t0, ${16 * i}(t2)`);
    args.forEach((v, k) => lines.push(load("t0", v), `sw   t0, ${16 * i + 4 * (k + 1)}(t2)`));
  }
  const at = r.chance(0.85) ? 0x60000 : r.pick([RESERVED, RAM - 8, 0x60002, -16]);
  lines.push(`li   a0, ${at}`, `li   a1, ${r.chance(0.85) ? n : r.pick([0, 17, -1, 1000])}`, `hcall ${HC.MULTICALL}`);
  return { lines };
}

/** A domain op through the ports with these arguments (a register name: its value). */
function portCall(op: number, args: (number | string)[]): string[] {
  return [...args.flatMap((v, i) => [load("t0", v), `out  ${0x61 + i}, t0`]), `li   t0, ${op}`, "out  0x64, t0", "in   a0, 0x64"];
}

/**
 * Sharing that works, then abuse of it: map one of the reference's grants
 * (its read-only secret or its writable page) and write it, or grant a page
 * to the reference and keep writing it while the reference maps and unmaps it
 * every round — the host's page copies, in both directions, under the races.
 */
function sharing(r: Rng): DomainsUnit {
  const writes = (page: number) => [`li   t2, ${page}`, ...Array.from({ length: r.range(1, 3) }, () => [load("t0", r.u32() | 0), `sw   t0, ${4 * r.int(1024)}(t2)`]).flat()];
  if (r.chance(0.6)) {
    const page = r.pick(MAP_PAGES);
    return { lines: [...portCall(HC.GNT_MAP, [peerId, r.pick([0, 1, 1]), page]), ...save(r), ...writes(page)] };
  }
  const page = r.pick(GRANT_PAGES);
  return { lines: [...portCall(HC.GNT_GRANT, [peerId, page, r.pick([0, 1])]), ...save(r), ...writes(page)] };
}

/** Stray port accesses around the domain device (and acknowledgements of any bits). */
function strayPort(r: Rng): DomainsUnit {
  const p = r.pick([0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x65, 0x66, 0x34]);
  return { lines: r.chance(0.5) ? [`in   a0, ${p}`] : [load("t0", r.pick([-1, 0, 1, 0x7fffffff, 18, 27, r.u32() | 0])), `out  ${p}, t0`] };
}

/** Stores to its own shared pages (mapped or granted): the host's copies must carry them only where allowed. */
function sharedWrite(r: Rng): DomainsUnit {
  const base = r.pick([...MAP_PAGES, ...GRANT_PAGES]);
  const lines = [`li   t2, ${base}`];
  for (let i = r.range(1, 4); i > 0; i--) lines.push(load("t0", r.u32() | 0), `${r.pick(["sw", "sh", "sb"])}   t0, ${4 * r.int(1024)}(t2)`);
  return { lines };
}

/** Time passes (the reference's rounds and the host's page copies interleave with what comes next). */
function delay(r: Rng): DomainsUnit {
  return { lines: [`li   t0, ${r.pick([50, 300, 1000, 3000])}`, ".Ldelay%:", "addi t0, t0, -1", "bnez t0, .Ldelay%"] };
}

/** Interrupts on or off, a halt, or the end of the guest (a power-off with any code: a driver is restarted). */
function control(r: Rng): DomainsUnit {
  return r.weighted<() => DomainsUnit>([
    [4, () => ({ lines: ["li   t0, 3", "wrpsr t0"] })],
    [2, () => ({ lines: ["li   t0, 2", "wrpsr t0"] })],
    [3, () => ({ lines: ["hlt"] })],
    [1, () => ({ lines: [`li   t0, ${r.pick([0, 1, 3, 99, -1])}`, "out  0xF0, t0"] })],
    [1, () => ({ lines: ["li   t0, 0x7fff000", "lw   t0, 0(t0)"] })],
  ])();
}

/**
 * Paging on, with its page directory and table on pages it shares (or will): a
 * page the host copies into must never become a page table behind the
 * monitor's back (xen write-protects them; the host then ends that sharing).
 * The table maps its first MiB identity, so its code and data stay reachable.
 */
function paging(r: Rng): DomainsUnit {
  const shared = [...MAP_PAGES, ...GRANT_PAGES];
  const pd = r.pick(shared);
  const pt = r.pick(shared.filter((p) => p !== pd));
  return {
    lines: [
      `li   t2, ${pt}`, "li   t1, 3", "li   t0, 256",
      ".Lpt%:", "sw   t1, 0(t2)", "addi t2, t2, 4", "addi t1, t1, 4096", "addi t0, t0, -1", "bnez t0, .Lpt%",
      `li   t2, ${pd}`, `li   t0, ${pt | 1}`, "sw   t0, 0(t2)",
      `li   t0, ${pd}`, "mtcr ptbr, t0", "li   t0, 1", "mtcr pgctl, t0",
    ],
  };
}

const NV = (off: number) => (NVDISK_BASE + off) | 0;
/** One register access of the nvdisk (a `.sensitive mmio` site when annotated). */
function mmio(annotated: boolean, store: boolean, off: number, value?: number | string): string[] {
  const lines = [`li   t2, ${NV(off)}`];
  if (store) lines.push(load("t0", value ?? 0));
  if (annotated) lines.push(".sensitive mmio");
  lines.push(store ? "sw   t0, 0(t2)" : "lw   a0, 0(t2)");
  return lines;
}

const queueBase = (r: Rng) => r.pick([QUEUE, QUEUE, QUEUE + 0x800, RESERVED, RESERVED + 0x800, RAM - 16, RAM - 8, RAM, QUEUE + 2, 0x1000, 0, -8, 0x7ffffff0]);
const dmaAddr = (r: Rng) => r.pick([0x52000, 0x52000, 0x1000, RESERVED, RESERVED + 0x1000, RAM - 512, RAM - 256, RAM, 0x52001, -512, ...MAP_PAGES, ...GRANT_PAGES]);

/**
 * The nvdisk set up properly (size, queues, enabled with interrupts) and a
 * few requests submitted, their data addresses hostile some of the time (the
 * reserved top of RAM, past RAM, its shared pages), or the queues themselves
 * moved there: requests really run, so every DMA check is reached.
 */
function nvdiskSession(r: Rng, annotated: boolean): DomainsUnit {
  const qsize = r.pick([4, 16]);
  const hostileQueues = r.chance(0.2);
  const lines = [
    ...mmio(annotated, true, NVDISK_REG.CONTROL, 0),
    ...mmio(annotated, true, NVDISK_REG.QSIZE, qsize),
    ...mmio(annotated, true, NVDISK_REG.SQ_BASE, hostileQueues ? queueBase(r) : QUEUE),
    ...mmio(annotated, true, NVDISK_REG.CQ_BASE, hostileQueues ? queueBase(r) : QUEUE + 0x800),
    ...mmio(annotated, true, NVDISK_REG.CONTROL, 3),
  ];
  const n = r.range(1, 3);
  for (let k = 0; k < n; k++) {
    const words = [r.pick([1, 1, 2]), r.pick([0, 1, 1, 2, 3, NVDISK_SECTORS - 1, NVDISK_SECTORS]), r.chance(0.4) ? 0x52000 : dmaAddr(r), k];
    lines.push(`li   t2, ${QUEUE + 16 * k}`, ...words.flatMap((w, i) => [load("t0", w), `sw   t0, ${4 * i}(t2)`]));
  }
  lines.push(...mmio(annotated, true, NVDISK_REG.SQ_TAIL, n));
  return { lines };
}

/** The nvdisk from a hostile driver: setup registers, submission entries, doorbells, acknowledgements, in any order. */
function nvdiskUnit(r: Rng, annotated: boolean): DomainsUnit {
  return r.weighted<() => DomainsUnit>([
    [3, () => ({ lines: mmio(annotated, true, r.pick([NVDISK_REG.SQ_BASE, NVDISK_REG.CQ_BASE]), queueBase(r)) })],
    [2, () => ({ lines: mmio(annotated, true, NVDISK_REG.QSIZE, r.pick([2, 4, 16, 256, 0, 1, 257, -1])) })],
    [3, () => ({ lines: mmio(annotated, true, NVDISK_REG.CONTROL, r.pick([1, 3, 0, 2, -1])) })],
    [4, () => {
      // A submission entry at a queue slot: op, sector, data address, tag.
      const at = QUEUE + 16 * r.int(16);
      const words = [r.pick([1, 2, 1, 2, 0, 3]), r.pick([0, 1, NVDISK_SECTORS - 1, NVDISK_SECTORS, -1]), dmaAddr(r), r.int(100)];
      return { lines: [`li   t2, ${at}`, ...words.flatMap((w, k) => [load("t0", w), `sw   t0, ${4 * k}(t2)`])] };
    }],
    [4, () => ({ lines: mmio(annotated, true, NVDISK_REG.SQ_TAIL, r.pick([1, 2, 3, 15, 16, 255, -1])) })],
    [2, () => ({ lines: mmio(annotated, true, r.pick([NVDISK_REG.CQ_HEAD, NVDISK_REG.STATUS, NVDISK_REG.CQ_TAIL, NVDISK_REG.ID, 0x18, 0x1ffc]), r.u32() | 0) })],
    [2, () => ({ lines: mmio(annotated, false, r.pick([NVDISK_REG.STATUS, NVDISK_REG.CQ_TAIL, NVDISK_REG.SQ_BASE, NVDISK_REG.SECTORS, 0x2000])) })],
    [1, () => ({ lines: [`li   t2, ${NV(r.pick([NVDISK_REG.SQ_BASE, NVDISK_REG.SQ_TAIL, 2]))}`, load("t0", RESERVED), ...(annotated ? [".sensitive mmio"] : []), r.pick(["sh   t0, 0(t2)", "sb   t0, 1(t2)", "lh   a0, 0(t2)"])] })],
  ])();
}

function hostileUnit(r: Rng, c: DomainsConfig): DomainsUnit {
  peerId = c.hostileFirst ? 1 : 0;
  const raw = !c.annotated && c.backend === "xen";
  return r.weighted<() => DomainsUnit>([
    [40, () => portOp(r)],
    [raw ? 20 : 0, () => hcallOp(r)],
    [raw ? 5 : 0, () => multicall(r)],
    [8, () => strayPort(r)],
    [10, () => sharedWrite(r)],
    [8, () => delay(r)],
    [5, () => control(r)],
    [4, () => paging(r)],
    [12, () => sharing(r)],
    [c.cpus > 1 ? 4 : 0, () => ({ lines: ["la   t0, _start", "out  0x43, t0", "li   t0, 1", "out  0x42, t0"] })],
    [c.nvdisk !== "none" ? 20 : 0, () => nvdiskUnit(r, c.annotated)],
    [c.nvdisk !== "none" ? 6 : 0, () => nvdiskSession(r, c.annotated)],
  ])();
}

/** The hostile guest's program: a trap (and interrupt) handler that skips what faulted, the units, then an idle loop. */
function hostileSource(units: readonly DomainsUnit[]): string {
  return `
    .text
    .global _start
_start:
    li   sp, 0x80000
    la   t4, handler
    mtcr tvec, t4
    li   s0, 0
    li   s1, 0
    li   s2, 0
${units.map((u, i) => u.lines.map((l) => (l.endsWith(":") ? l : `    ${l}`).replace(/%/g, String(i))).join("\n")).join("\n")}
.Lidle:
    hlt
    j    .Lidle
handler:
    mfcr t4, epc
    addi t4, t4, 4
    mtcr epc, t4
    iret
`;
}

function hostileImage(input: FuzzInput<DomainsUnit>): ElfImage {
  const c = configOf(input.aux);
  const src = hostileSource(input.units);
  return assemble([{ file: "hostile.s", text: c.annotated ? annotate("hostile.s", src).text : src }]);
}

/**
 * The benign peer: the same role and devices, and nothing to do but
 * acknowledge its events (a driver that left them pending would be restarted
 * by the watchdog, and its client told).
 */
const benignImage = () => hostileImage({ base: "benign", units: [{ lines: [".Lack:", "in   t0, 0x65", "out  0x65, t0", "hlt", "j    .Lack"] }], aux: 0 });

// ---------------------------------------------------------------- running and judging

/**
 * The hostile guest's nvdisk: sector 0 a pattern; sectors 1–3 page-table
 * entries (present, writable) mapping the monitor's reserved frames, past
 * RAM, and its own first frames — read by DMA onto a page table, they must
 * still never give it the monitor's memory (the walk checks every entry).
 */
function nvdiskImage(): Uint8Array {
  const img = new Uint8Array(NVDISK_SECTORS * 512).fill(0xee);
  const words = new Int32Array(img.buffer);
  for (let i = 0; i < 128; i++) {
    words[128 + i] = (RESERVED + 0x1000 * (i % 64)) | 3;
    words[256 + i] = (RAM + 0x1000 * i) | 3;
    words[384 + i] = (0x1000 * i) | 3;
  }
  return img;
}

function specs(c: DomainsConfig, hostile: ElfImage): DomainSpec[] {
  const serving = c.role !== "guest";
  const ref: DomainSpec = {
    name: "ref",
    image: referenceImage(c.reference),
    ramSize: c.reference === "kernel" ? KERNEL_RAM : REF_RAM,
    ...(c.reference === "fixture" && serving ? { uses: { block: "hostile" } } : {}),
    ...(c.reference === "kernel" ? { disk: new Uint8Array(64 * 1024) } : {}),
  };
  const bad: DomainSpec = {
    name: "hostile",
    image: hostile,
    ramSize: RAM,
    cpus: c.cpus,
    role: c.role === "driver" ? "driver" : "guest",
    serves: serving ? ["block", "nvdisk"] : [],
    disk: new Uint8Array(4096),
    ...(c.nvdisk !== "none" ? { nvdisk: nvdiskImage(), passthrough: c.nvdisk === "passthrough" } : {}),
  };
  return c.hostileFirst ? [bad, ref] : [ref, bad];
}

interface RefRun {
  console: string;
  result: string;
  cycles: number;
  executed: number;
  /** Event interrupts the reference's machine took (line 4). */
  events: number;
  /** ramDigest of its machine at the end. */
  ram: number;
}

/** Frames of the fixture reference its peer may legitimately change: its writable grant, the pages it maps the peer's grants onto, its op results. */
const PEER_WRITABLE = new Set([REF_SHARED >>> 12, REF_RESULTS >>> 12, ...[0, 1, 2].map((k) => (REF_MAPS >>> 12) + k)]);

/** A digest (FNV-1a over words) of the reference's guest RAM, less the frames its peer may write. */
function ramDigest(m: Machine): number {
  const w = m.memory.i32;
  let h = 0x811c9dc5;
  for (let f = 0; f < m.memory.guestLimit >>> 12; f++) {
    if (PEER_WRITABLE.has(f)) continue;
    for (let i = f << 10, end = i + 1024; i < end; i++) h = Math.imul(h ^ w[i], 0x01000193);
  }
  return h >>> 0;
}

const refRun = (d: DomainOutcome, m: Machine): RefRun => ({ console: d.console, result: JSON.stringify(d.result), cycles: d.stats.cycles, executed: d.executedCycles, events: d.stats.interrupts[IRQ.EVENT] ?? 0, ram: ramDigest(m) });
const benignRuns = new Map<string, RefRun>();
/** Bound of a reference run (the kernel's compute workload needs about 1.8 M cycles on l4). */
const REFERENCE_CYCLES = 20_000_000;

/** Runs an input's hostile guest beside the reference in the input's configuration (the tests' and the diagnosis' entry), under the default engine or `engine`. */
export function runDomainsInput(input: FuzzInput<DomainsUnit>, maxCycles: number, engine?: EngineChoice) {
  return run(configOf(input.aux), hostileImage(input), maxCycles, engine);
}

function run(c: DomainsConfig, hostile: ElfImage, maxCycles: number, engine?: EngineChoice) {
  const host = new DomainHost(specs(c, hostile), { backend: c.backend, maxCycles, watchdog: 200_000, maxRestarts: 20, ...engine });
  return { host, out: host.run() };
}

/** The domains' runs as the engine oracle reads them (generators/engines.ts), and their executed cycles. */
const domainRuns = ({ host, out }: ReturnType<typeof run>) =>
  out.domains.map((d): [string, SimulatedRun, number] => [d.name, { result: d.result!, console: d.console, stats: d.stats, machine: host.machineOf(d.id) }, d.executedCycles]);

/** The first domain whose run under `engine` differs from its run under the interpreter. */
function domainsDifference(interp: ReturnType<typeof run>, other: ReturnType<typeof run>, engine: string): string | undefined {
  const a = domainRuns(interp), b = domainRuns(other);
  if (a.length !== b.length) return `${b.length} domains under ${engine}, ${a.length} under the interpreter`;
  for (let i = 0; i < a.length; i++) {
    const p = runDifference(`${b[i][0]} under ${engine}`, a[i][1], b[i][1]) ?? (a[i][2] !== b[i][2] ? `${b[i][0]}: ${b[i][2]} executed cycles under ${engine}, ${a[i][2]} under the interpreter` : undefined);
    if (p) return p;
  }
  return undefined;
}

/** The hostile run again under the interpreter and under the JIT at threshold 1: the first that differs, the default run last. */
function enginesProblem(c: DomainsConfig, image: ElfImage, maxCycles: number, byDefault: ReturnType<typeof run>): string | undefined {
  return firstEngineDifference((choice) => run(c, image, maxCycles, choice), byDefault, (name, interp, other) => domainsDifference(interp, other, name));
}

function benign(c: DomainsConfig): RefRun {
  // The benign peer is one program whatever the input's annotation; its nvdisk is its own: neither reaches the reference.
  const key = JSON.stringify([c.backend, c.reference, c.role, c.hostileFirst]);
  let b = benignRuns.get(key);
  if (!b) {
    const { host, out } = run({ ...c, annotated: false, nvdisk: "none", cpus: 1 }, benignImage(), REFERENCE_CYCLES);
    const ref = out.domains.find((d) => d.name === "ref")!;
    b = refRun(ref, host.machineOf(ref.id));
    benignRuns.set(key, b);
  }
  return b;
}

export const domainsCampaign: Campaign<DomainsUnit> = {
  name: "domains",
  description: "a hostile guest (domain ops with hostile arguments, grant races, the nvdisk) beside a reference guest on xen, l4 and hvm",
  generate(r: Rng) {
    const aux = r.int(AUX_RANGE) + AUX_RANGE * r.int(ENGINE_RADIX);
    const c = configOf(aux);
    const units = Array.from({ length: r.range(1, 24) }, () => hostileUnit(r, c));
    // Often wait first: the reference grants and publishes in its first few thousand cycles.
    if (r.chance(0.5)) units.unshift({ lines: [`li   t0, ${r.pick([500, 1500, 3000])}`, ".Ldelay%:", "addi t0, t0, -1", "bnez t0, .Ldelay%"] });
    return { base: `${c.backend}-${c.role}`, units, aux };
  },
  execute(input, limits) {
    const c = configOf(input.aux);
    const calm = benign(c);
    if (!calm.result.includes('"poweroff"')) return { class: "wrong", message: `the reference does not complete beside a benign peer: ${calm.result}` };
    const image = hostileImage(input);
    // The reference must complete: the bound is its own run plus what the limit allows the hostile guest.
    const hostile = run(c, image, calm.cycles + limits.maxCycles);
    const { host, out } = hostile;
    for (const d of out.domains) {
      if (!d.result) continue;
      const p = endingOf(d.result);
      if (p) return { class: "wrong", message: `${d.name}: ${p}` };
    }
    const refOut = out.domains.find((d) => d.name === "ref")!;
    const got = refRun(refOut, host.machineOf(refOut.id));
    // An event the peer may legitimately cause (an EVT_SEND on a port the reference allocated for it, a
    // driver's restart notifying its client) reaches the reference's line 4 even with its interrupts off;
    // xen and l4 take it and hold it (a monitor entry, charged): then only the console and ending must match.
    const exact = got.events === calm.events;
    // Its RAM too (the guest part: the monitor's reserved top holds its virtual CPU, where a held event shows).
    for (const k of exact ? (["result", "console", "ram", "cycles", "executed"] as const) : (["result", "console", "ram"] as const)) {
      if (got[k] !== calm[k]) return { class: "wrong", message: `${c.backend}: the reference's ${k} changed beside the hostile guest: ${JSON.stringify(got[k]).slice(0, 80)} instead of ${JSON.stringify(calm[k]).slice(0, 80)}` };
    }
    const backend = getBackend(c.backend);
    if (backend.inPlaceVmm) {
      for (const d of out.domains) {
        const spec = specs(c, image)[d.id];
        const stubs = prepareImage(backend, spec.image, undefined, "native", spec.passthrough === true).stubs;
        const p = windowBytesProblem(host.machineOf(d.id).memory, stubs, c.backend);
        if (p) return { class: "wrong", message: `${d.name}: ${p}` };
      }
    }
    if (enginesOf(input.aux)) {
      const p = enginesProblem(c, image, calm.cycles + limits.maxCycles, hostile);
      if (p) return { class: "wrong", message: `${c.backend}: ${p}` };
    }
    return "accepted";
  },
  materialize(input) {
    const c = configOf(input.aux);
    return {
      ext: ".s",
      data: hostileSource(input.units),
      note: `the hostile guest (${c.annotated ? "annotated" : "raw"}), beside the ${c.reference} reference on ${c.backend}: ${JSON.stringify(c)}; replay with npm run fuzz -- domains --seed S --replay INDEX${enginesOf(input.aux) ? ` ${ENGINES_NOTE}` : ""}`,
    };
  },
};
