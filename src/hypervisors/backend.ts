// What a back end is (Backend: data for the load-time rewriter, what each
// site kind becomes, docs/design.md §3, plus, where the guest runs under a
// hypervisor, the Monitor the machine calls on its slow paths) and how a
// guest is checked, rewritten and run on one, given the Backend object.
// It imports no back end: the registry does (index.ts, every back end loaded;
// registry.ts, one loaded on demand), so a run imports only the one it uses.
// The machine itself knows no back end.

import { UserError } from "../guest-isa/diagnostics.js";
import type { ElfImage } from "../guest-isa/elf-types.js";
import { lookupInstruction } from "../guest-isa/isa-table.js";
// From guest-isa, not ./paravirt.js: that one brings xen's guest ABI (its VMM, the assembler).
import { isParavirtImage } from "../guest-isa/paravirt.js";
import type { Monitor } from "../machine/monitor.js";
import { runImage, runImageSliced, type BetweenSlices, type RunImageOptions, type RunOutcome } from "../machine/run-image.js";
import { MAX_CPUS } from "../machine/machine.js";
import { rewriteImage, type RewriteResult, type RewriteTarget } from "../rewriter/index.js";
import { checkSpinlockCure, type SpinlockCure } from "./common/spinlock-cures.js";
import { checkPassthrough } from "./common/bypass.js";

/** What a back end's monitor is told about the machine it will run on. */
export interface MonitorOptions {
  /** CPUs of the machine (1 when not given). */
  cpus: number;
  /** Physical CPUs to time-slice them on (`--pcpus`); undefined: one per CPU. */
  pcpus?: number;
  /** The in-place VMM's protection domain on xen and l4 (docs/protection.md); default true, `--no-protect` turns it off. */
  protect?: boolean;
  /** The --pcpus scheduler's time slice in cycles (`--timeslice`, a multiple of the quantum: common/vcpu-scheduler.ts). */
  timeslice?: number;
  /** The lock-holder preemption cure (`--spinlocks`, common/spinlock-cures.ts; default native). */
  spinlocks?: SpinlockCure;
  /**
   * The nvdisk is passed through to this guest (`--passthrough`, common/bypass.ts):
   * its mmio sites stay native and the per-request registers are reached with
   * no VMM involvement. Default false: every access goes through the VMM.
   */
  passthrough?: boolean;
}

export interface Backend {
  readonly name: string;
  readonly description: string;
  /** The rewriter's view of this back end: its replacement table (and soft-layer window). */
  readonly target: RewriteTarget;
  /** The monitor this back end runs the guest under, given what the rewriter did; none on bare metal. */
  createMonitor?(rewrite: RewriteResult, options: MonitorOptions): Monitor;
  /** The most CPUs this back end runs a guest on (default 1). */
  readonly maxCpus?: number;
  /** The `--spinlocks` cures it offers (default: native only; common/spinlock-cures.ts). */
  readonly spinlocks?: readonly SpinlockCure[];
  /** Its rewriter view for a cure other than native, or with the nvdisk passed through (default: `target`). */
  targetFor?(cure: SpinlockCure, passthrough?: boolean): RewriteTarget;
  /**
   * `--passthrough` works: its monitor passes the nvdisk's per-request page
   * through to the guest (VMM-bypass I/O, common/bypass.ts). Default false:
   * `--passthrough` is refused, and `bench --drivers` does not run it.
   */
  readonly passthrough?: boolean;
  /**
   * Why it does not run every correct guest as bare metal does, when it does
   * not (trap: rdpsr and wrpsr do not trap). Such a back end is refused by
   * the multi-guest host with this reason and left out where runs must agree
   * with bare (`bench --smp`'s and `--drivers`' defaults, the fuzz campaigns
   * comparing with bare). Default: none — it runs them as bare metal does.
   */
  readonly unfaithful?: string;
  /**
   * Which of its monitor's counters (`--stats`) are entries into its VMM, for
   * `bench --smp`'s "hcalls/exits" (`calls`: name prefixes of its hypercalls
   * or VM exits) and `bench --drivers`' "VMM entries" (those and `others`:
   * exact names of its other entries, e.g. traps reflected to the guest).
   * Default: the wedge monitors' names (common/wedge-monitor.ts): calls
   * `NAME:hcall.`, others `NAME:trap.reflected`, `NAME:bypass.setup`,
   * `NAME:mmio.trapped`.
   */
  readonly vmmEntries?: { readonly calls: readonly string[]; readonly others: readonly string[] };
  /**
   * Its VMM runs in place, in the guest's soft-layer window (pre-virtualization;
   * common/window.ts). Lists of back ends name these first, and `bench
   * --drivers` holds them to its goals (the pre-virtualization papers'
   * figures). Default false.
   */
  readonly inPlaceVmm?: boolean;
}

/** The counters that are entries into `backend`'s VMM (Backend.vmmEntries, or its default); none on bare metal. */
export function vmmEntryCounters(backend: Backend): { readonly calls: readonly string[]; readonly others: readonly string[] } {
  if (!backend.createMonitor) return { calls: [], others: [] };
  const n = backend.name;
  return backend.vmmEntries ?? { calls: [`${n}:hcall.`], others: [`${n}:trap.reflected`, `${n}:bypass.setup`, `${n}:mmio.trapped`] };
}

/** Sums the counters that are entries into `backend`'s VMM: its calls (hypercalls, VM exits) only, or every entry. */
export function countVmmEntries(backend: Backend, counts: Readonly<Record<string, number>>, which: "calls" | "all"): number {
  const { calls, others } = vmmEntryCounters(backend);
  let n = 0;
  for (const [k, v] of Object.entries(counts)) if (calls.some((p) => k.startsWith(p)) || (which === "all" && others.includes(k))) n += v;
  return n;
}

/** `list` with the back ends with an in-place VMM (Backend.inPlaceVmm) first, each group in its order: how lists of back ends are shown. */
export function inPlaceFirst(list: Iterable<Backend>): Backend[] {
  const all = [...list];
  return [...all.filter((b) => b.inPlaceVmm), ...all.filter((b) => !b.inPlaceVmm)];
}

/** The back ends of `all` that host several guests: a hypervisor to share, and faithful (Backend.unfaithful); in-place VMMs first. */
export function hostingBackends(all: Iterable<Backend>): Backend[] {
  return inPlaceFirst([...all].filter((b) => b.createMonitor && !b.unfaithful));
}

/** The back ends of `all` that pass the nvdisk through (Backend.passthrough); in-place VMMs first. */
export function passthroughBackends(all: Iterable<Backend>): Backend[] {
  return inPlaceFirst([...all].filter((b) => b.passthrough));
}

/**
 * The load-time step: validates the site table and rewrites every site for
 * the back end. A para-virtualized image runs on xen only: elsewhere it is
 * refused (a UserError the CLI prefixes with the file name).
 */
export function prepareImage(backend: Backend, image: ElfImage, file?: string, spinlocks: SpinlockCure = "native", passthrough = false): RewriteResult {
  if (backend.name !== "xen" && isParavirtImage(image)) throw new UserError(`${file ? `${file}: ` : ""}para-virtualized for xen; run it with --hv xen`);
  try {
    return rewriteImage(image, (spinlocks !== "native" || passthrough) && backend.targetFor ? backend.targetFor(spinlocks, passthrough) : backend.target);
  } catch (e) {
    // A refused table or layout names the binary, as the ELF reader's errors do.
    if (file && e instanceof UserError) throw new UserError(`${file}: ${e.message}`);
    throw e;
  }
}

export interface RunElfOptions extends Omit<RunImageOptions, "monitor"> {
  /** A back-end name or object; default "bare" (index.ts's runElf and prepareGuest read it; runElfOn takes the object). */
  backend?: string | Backend;
  /** The ELF file's name, for error messages about the binary. */
  file?: string;
  /** The --pcpus scheduler's time slice in cycles (`--timeslice`; docs/vcpus.md). */
  timeslice?: number;
  /** `--spinlocks native|pv|delayed|ple`: the lock-holder preemption cure (docs/smp-virtualization.md). */
  spinlocks?: string;
  /**
   * `--passthrough`: pass the nvdisk (`nvdisk`, RunImageOptions) through to the
   * guest — VMM-bypass I/O (common/bypass.ts; xen, l4, hvm). Needs `nvdisk`.
   */
  passthrough?: boolean;
}

export interface RunElfOutcome extends RunOutcome {
  /** What the load-time rewriter did (sites by strategy). */
  rewrite: RewriteResult;
}

/**
 * Checks `cpus`, `quantum` and `pcpus` for a back end (UserErrors naming the
 * CLI options): cpus 1–8 and within what the back end runs, pcpus 1–cpus
 * and only under a hypervisor.
 */
export function checkCpuOptions(backend: Backend, o: CpuOptions): MonitorOptions {
  const cpus = checkCpuValues(o);
  if (cpus > (backend.maxCpus ?? 1)) {
    throw new UserError(`--hv ${backend.name} runs at most ${backend.maxCpus ?? 1} CPU${(backend.maxCpus ?? 1) === 1 ? "" : "s"} (asked for --cpus ${cpus})`);
  }
  if (o.pcpus !== undefined && !backend.createMonitor) throw new UserError("--pcpus needs a hypervisor back end (bare has one physical CPU per CPU)");
  return { cpus, pcpus: o.pcpus, timeslice: o.timeslice };
}

/** The multiprocessor options of a run (`--cpus`, `--quantum`, `--pcpus`, `--timeslice`). */
export interface CpuOptions {
  cpus?: number;
  quantum?: number;
  pcpus?: number;
  /** The --pcpus scheduler's time slice in cycles (docs/vcpus.md). */
  timeslice?: number;
}

/** The checks of checkCpuOptions that need no back end (for commands that run several); returns the CPUs. */
export function checkCpuValues(o: CpuOptions): number {
  const cpus = o.cpus ?? 1;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_CPUS) throw new UserError(`--cpus must be a whole number from 1 to ${MAX_CPUS}, not ${o.cpus}`);
  if (o.quantum !== undefined && (!Number.isInteger(o.quantum) || o.quantum < 1 || o.quantum > 1e9)) {
    throw new UserError(`--quantum must be a whole number of cycles from 1 to 1000000000, not ${o.quantum}`);
  }
  if (o.pcpus !== undefined && (!Number.isInteger(o.pcpus) || o.pcpus < 1 || o.pcpus > cpus)) {
    throw new UserError(`--pcpus must be a whole number from 1 to --cpus (${cpus}), not ${o.pcpus}`);
  }
  if (o.timeslice !== undefined && o.pcpus === undefined) throw new UserError("--timeslice needs --pcpus (it is the time slice of the hypervisor's vCPU scheduler)");
  return cpus;
}

const AMOADD_OPCODE = lookupInstruction("amoadd")!.opcode;

/** Where a ticket site's amoadd (the take) is after rewriting: the site itself, or the first amoadd of its template. */
function ticketTakeAddress(rewrite: RewriteResult, site: RewriteResult["sites"][number]): number {
  if (site.strategy === "native") return site.record.addr;
  const stub = site.stubAddr === undefined ? undefined : rewrite.stubs.find((x) => x.addr === site.stubAddr);
  const [base, words] = stub ? [stub.addr, stub.words] : [site.record.addr, site.after];
  for (let i = 0; i < words.length; i++) if ((words[i] & 0x3f) === AMOADD_OPCODE) return (base + 4 * i) >>> 0;
  throw new Error(`internal: the ${rewrite.target} template of the ticket site at 0x${site.record.addr.toString(16)} has no amoadd`);
}

/**
 * The sites the machine's spin accounting watches in a rewritten image
 * (MachineOptions.lockSites, ticketSites): each lock site's amoswap, and the
 * amoadd of each ticket site — where it stays, or where the cure's template
 * moved it (inline or in a stub).
 */
export function spinSites(rewrite: RewriteResult): { lockSites: number[]; ticketSites: number[] } {
  return {
    lockSites: rewrite.sites.filter((x) => x.kindName === "lock").map((x) => x.record.addr),
    ticketSites: rewrite.sites.filter((x) => x.kindName === "ticket").map((x) => ticketTakeAddress(rewrite, x)),
  };
}

/** Rewrites `image` for `backend` and runs it: result, counters, console output (`options.backend` is not read). */
export function runElfOn(backend: Backend, image: ElfImage, options: RunElfOptions = {}): RunElfOutcome {
  const { rewrite, runOptions } = prepareGuestOn(backend, image, options);
  const outcome = runImage(rewrite.image, runOptions(rewrite));
  return { ...outcome, rewrite };
}

/** runElfOn, run in slices with `between` awaited after each (run-image.ts runImageSliced: `previrt run`'s Ctrl-C). */
export async function runElfOnSliced(backend: Backend, image: ElfImage, options: RunElfOptions, between: BetweenSlices, slice?: number): Promise<RunElfOutcome> {
  const { rewrite, runOptions } = prepareGuestOn(backend, image, options);
  const outcome = await runImageSliced(rewrite.image, runOptions(rewrite), between, slice);
  return { ...outcome, rewrite };
}

/** What prepareGuestOn returns: the back end, the rewrite, and machine options for a run of it. */
export interface PreparedGuest {
  backend: Backend;
  rewrite: RewriteResult;
  /** Each call with a fresh monitor. */
  runOptions: (rewrite: RewriteResult) => RunImageOptions;
}

/**
 * runElfOn's load-time half: checks the options, rewrites the image for the
 * back end, and returns the machine options for a run of it, each call with
 * a fresh monitor — the multi-guest host (src/hypervisors/domains) builds a
 * machine per guest from them, and a new one when it restarts a guest.
 */
export function prepareGuestOn(backend: Backend, image: ElfImage, options: RunElfOptions = {}): PreparedGuest {
  const spinlocks = checkSpinlockCure(backend.name, backend.spinlocks, options.spinlocks);
  const passthrough = checkPassthrough(backend, options.passthrough, options.nvdisk !== undefined);
  const monitorOptions = { ...checkCpuOptions(backend, options), spinlocks, passthrough };
  const rewrite = prepareImage(backend, image, options.file, spinlocks, passthrough);
  const { lockSites, ticketSites } = spinSites(rewrite);
  return {
    backend,
    rewrite,
    runOptions: (r) => ({ ...options, lockSites, ticketSites, monitor: backend.createMonitor?.(r, { ...monitorOptions, protect: options.protect }) }),
  };
}
