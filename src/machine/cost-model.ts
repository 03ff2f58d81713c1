// The cost model: one table pricing everything the machine counts.
//
// Consumes: nothing (the default table) or a JSON file of overrides
// (`--cost-model FILE`). Produces: a `CostModel` — cycles per instruction
// cost class (the `CostClass` of each ISA row) and cycles per event (exception
// entry, TLB miss walk, VM exit, IPC, …). The machine reports
//
//     cycles = Σ executed instructions × class cost + Σ counted events × event cost
//
// and nothing else: no back end is special-cased, a back end's overhead is
// the instructions it really runs and the events it (or the machine) charges.
// docs/cost-model.md lists every entry with its source; a test checks it
// mentions every key.

import { quotedName, UserError } from "../guest-isa/diagnostics.js";
import type { CostClass } from "../guest-isa/isa-table.js";

/** One entry of the table: its price in cycles and where the figure comes from. */
export interface CostEntry {
  readonly cycles: number;
  /** The published source and what it measured, or "assumed" with the reasoning. */
  readonly source: string;
}

export const COST_CLASSES = ["alu", "mul", "div", "load", "store", "atomic", "branch", "jump", "trap", "system"] as const satisfies readonly CostClass[];

/** Events the machine or a monitor charges with `machine.charge(event, n)`. */
export const COST_EVENTS = [
  "exceptionEntry",
  "exceptionReturn",
  "tlbMissWalk",
  "tlbFlush",
  "deviceAccess",
  "hypercall",
  "vmExit",
  "ipc",
  "map",
  "unmap",
  "shadowUpdate",
  "interruptInjection",
  "worldSwitch",
  "pageTransfer",
  "dirtyFault",
  "permissionRef",
  "vcpuSwitch",
  "deltaEncode",
] as const;
export type CostEvent = (typeof COST_EVENTS)[number];

export type CostKey = CostClass | CostEvent;

const P4 = "Pentium 4";

/** The default table. Figures are for a ~2005 x86 (the papers' hardware) unless noted. */
export const DEFAULT_COSTS: Readonly<Record<CostKey, CostEntry>> = {
  alu: { cycles: 1, source: "Intel 64 and IA-32 Architectures Optimization Reference Manual, App. C: ADD/AND/SHL r32 latency 1" },
  mul: { cycles: 3, source: "Intel Optimization Reference Manual, App. C: IMUL r32 latency 3 (Core/later); Agner Fog, Instruction tables" },
  div: { cycles: 26, source: "Agner Fog, Instruction tables: DIV r32 latency ≈ 26 cycles (Skylake; 20–40 on older cores)" },
  load: { cycles: 4, source: "Intel Optimization Reference Manual: L1 data cache load-to-use latency 4 cycles" },
  store: { cycles: 1, source: "Intel Optimization Reference Manual: one store per cycle retires into the store buffer" },
  atomic: {
    cycles: 20,
    source: "Agner Fog, Instruction tables: XCHG r32,m32 and LOCK XADD (a locked read-modify-write) ≈ 18–20 cycles latency (Skylake; more on older cores)",
  },
  branch: { cycles: 1, source: "assumed: a correctly predicted branch, 1 cycle (no branch predictor is modelled)" },
  jump: { cycles: 2, source: "assumed: an unconditional/indirect jump with a short front-end bubble" },
  trap: { cycles: 1, source: "assumed: the syscall/brk/hcall instruction itself; the trap costs exceptionEntry/hypercall" },
  system: { cycles: 2, source: "assumed: cli/sti/mfcr/mtcr class instructions; serializing ones cost more, charged as events" },

  exceptionEntry: {
    cycles: 242,
    source: `Adams & Agesen, ASPLOS 2006, Table 1: native 'syscall' (int 0x80 + return) ≈ 242 cycles on a 3.8 GHz ${P4}; charged for every trap or interrupt entry`,
  },
  exceptionReturn: {
    cycles: 100,
    source: `assumed: the iret half of a ${P4} kernel entry/exit round trip (part of the 242 cycles above)`,
  },
  tlbMissWalk: {
    cycles: 30,
    source: "assumed: a two-level x86 page walk whose PDE/PTE hit in the data cache (2 dependent loads + fill)",
  },
  tlbFlush: {
    cycles: 500,
    source: `assumed: a CR3 write on ${P4} (full non-global TLB flush) including its share of refills, order of hundreds of cycles`,
  },
  deviceAccess: {
    cycles: 1000,
    source: "assumed: an uncached port I/O instruction reaching an ISA-class device, ≈ 0.5–1 µs on x86 (order 1,000 cycles)",
  },
  hypercall: {
    cycles: 400,
    source: `derived: a hypercall is a software trap into the hypervisor plus return — the ${P4} syscall round trip (242 cycles, Adams & Agesen 2006) plus Xen's dispatch (Barham et al., SOSP 2003 describe the int 0x82 path)`,
  },
  vmExit: {
    cycles: 2400,
    source: `Adams & Agesen, ASPLOS 2006: a VT-x VM exit + VMRESUME round trip ≈ 2,400 cycles on a ${P4} (Prescott); Agesen et al., USENIX ATC 2012 chart the same figure falling to ≈ 500 on later cores`,
  },
  ipc: {
    cycles: 1360,
    source: `L4Ka::Pistachio benchmark log: inter-address-space IPC round trip 1,360 cycles on ${P4}`,
  },
  map: {
    cycles: 1500,
    source: "assumed: an L4 map operation (an IPC carrying a flexpage plus page-table update), IPC cost + ≈ 150 cycles",
  },
  unmap: {
    cycles: 1000,
    source: "assumed: an L4 unmap system call of one page including the TLB shootdown of that page",
  },
  shadowUpdate: {
    cycles: 4000,
    source: "Adams & Agesen, ASPLOS 2006, Table 1 'ptemod': a trapping guest PTE write emulated by the hardware VMM costs thousands of cycles (exit + decode + shadow update); we charge 4,000 on top of the vmExit",
  },
  interruptInjection: {
    cycles: 200,
    source: "assumed: a VMM building an interrupt frame for the guest (event injection), comparable to a native exception entry",
  },
  worldSwitch: {
    cycles: 2000,
    source: "assumed: an address-space switch between monitor and guest including TLB refills (cf. Barham et al. SOSP 2003 on Xen's domain switch)",
  },
  pageTransfer: {
    cycles: 6554,
    source:
      "derived: one 4 KiB page over a 10 Gbit/s link = 3.28 µs = 6,554 cycles at 2 GHz (Clark et al., NSDI 2005, migrate over gigabit Ethernet, 10× slower; zero pages are sent as a marker, as QEMU's migration does, and cost nothing here)",
  },
  dirtyFault: {
    cycles: 342,
    source: `derived: log-dirty mode write-protects the guest's pages; a page's first write in a round traps into the hypervisor, which marks it dirty and makes it writable (Clark et al., NSDI 2005, §4.2 shadow page tables) — a trap round trip, exceptionEntry + exceptionReturn on the ${P4} (Adams & Agesen 2006)`,
  },
  permissionRef: {
    cycles: 4,
    source:
      "derived: one permissions-table reference after a protection-lookaside-buffer miss is one extra memory reference (Witchel et al., ASPLOS 2002, count table references); priced as an L1 data-cache load, 4 cycles (Intel Optimization Reference Manual). A PLB hit is free: it is looked up beside the TLB",
  },
  vcpuSwitch: {
    cycles: 2000,
    source:
      "assumed: a hypervisor's scheduler switching a physical CPU to another vCPU of the same guest (save one vCPU's registers, load the other's — for hvm a VMCS switch — with tagged TLBs, no address-space change): the order of an OS thread context switch, ≈ 1 µs at 2 GHz (cf. worldSwitch). Charged by the --pcpus scheduler (src/hypervisors/common/vcpu-scheduler.ts)",
  },
  deltaEncode: {
    cycles: 1280,
    source:
      "derived: XBZRLE delta compression of a page already sent (Svärd et al., VEE 2011; QEMU's migration/xbzrle.c) compares the page with the sender's cached copy a 64-bit word at a time — 512 iterations of two loads, a compare and a branch, ≈ 2 cycles each on an out-of-order core (assumed throughput) = 1,024 cycles — and copies the page into the cache (a 4 KiB memcpy at 16 bytes a cycle = 256 cycles). Charged on the sender's clock for every page live migration handles with delta compression on (a cache miss is only the copy: charged in full all the same), not to the guest",
  },
};

/** The effective prices: cycles only, by key. */
export type CostModel = Readonly<Record<CostKey, number>>;

export const COST_KEYS: readonly CostKey[] = [...COST_CLASSES, ...COST_EVENTS];

export function defaultCostModel(): CostModel {
  return Object.fromEntries(COST_KEYS.map((k) => [k, DEFAULT_COSTS[k].cycles])) as Record<CostKey, number>;
}

/**
 * The largest price of one entry. A price is cycles per instruction or per
 * event; far above the dearest real figure (a VM exit, thousands) but small
 * enough that no run's cycle count leaves float64's exact integers.
 */
export const MAX_ENTRY_CYCLES = 1_000_000;

/**
 * Whether `value` is a valid price: a whole number of cycles from 1 to
 * MAX_ENTRY_CYCLES. Zero is refused because the machine's cycle budget
 * (`--max-cycles`, the next device event) must advance with every
 * instruction: with a 0-cycle class a loop of such instructions would never
 * reach it.
 */
function validPrice(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= MAX_ENTRY_CYCLES;
}

function priceError(what: string, key: string): UserError {
  return new UserError(`${what}: entry ${quotedName(key)} must be a whole number of cycles from 1 to ${MAX_ENTRY_CYCLES}`);
}

/**
 * Validates overrides (a JSON object of key → cycles, or key → {cycles}) and
 * applies them to the default table. Unknown keys and invalid prices (not a
 * whole number from 1 to MAX_ENTRY_CYCLES) are UserErrors naming the key.
 */
export function parseCostModel(json: unknown, what = "cost model"): CostModel {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new UserError(`${what}: expected a JSON object of cost entries`);
  }
  const model: Record<string, number> = { ...defaultCostModel() };
  for (const [key, raw] of Object.entries(json as Record<string, unknown>)) {
    if (!(COST_KEYS as readonly string[]).includes(key)) {
      throw new UserError(`${what}: unknown entry ${quotedName(key)} (known: ${COST_KEYS.join(", ")})`);
    }
    const value = typeof raw === "object" && raw !== null && "cycles" in raw ? (raw as { cycles: unknown }).cycles : raw;
    if (!validPrice(value)) throw priceError(what, key);
    model[key] = value;
  }
  return model as CostModel;
}

/**
 * Checks a complete model built in code (the machine checks the one it is
 * given, so no caller can hand it a price the cost-model file would refuse).
 */
export function validateCostModel(model: CostModel, what = "cost model"): void {
  for (const key of COST_KEYS) if (!validPrice(model[key])) throw priceError(what, key);
}

/** Splits a run's cycles: each event's count × its price, idle time, and the rest (executed instructions). */
export function cycleBreakdown(cycles: number, events: Partial<Record<CostEvent, number>>, counts: Record<string, number>, model: CostModel): Record<string, number> {
  const out: Record<string, number> = {};
  let rest = cycles;
  for (const e of COST_EVENTS) {
    const n = events[e] ?? 0;
    if (!n) continue;
    out[e] = n * model[e];
    rest -= out[e];
  }
  const idle = counts.idleCycles ?? 0;
  if (idle) {
    out.idle = idle;
    rest -= idle;
  }
  out.instructions = rest;
  return out;
}
