// Snapshots (docs/migration.md): a stopped guest as one self-contained value
// — its binary, the machine's state, RAM, the disk, the console so far, and
// its virtual state in the back-end-neutral form plus, for resuming on the
// same back end cycle-exactly, the monitor's private state.
//
// captureSnapshot(guest) → Snapshot (at a safe point: safe-point.ts);
// restoreGuest(snapshot, backend) → a Guest ready to run on. On another back
// end the sites are restored to the binary's original words and rewritten for
// the new back end (through the machine's memory API, so any cache of decoded
// code sees them), the new monitor takes the neutral form (installing its
// in-place VMM; hvm rebuilds its shadow from the guest's page tables), and
// the TLB starts empty. On the back end that took it, a resume continues
// the snapshot's --pcpus schedule and its --no-protect unless told
// otherwise (savedSchedule, scheduleFor). parseSnapshot reads the container
// of codec.ts (the files are src/cli/snapshot-files.ts's); every field is
// checked before anything is restored.

import { PLB_BLOCKS, PLB_FRAMES } from "../machine/protection/plb.js";
import { UserError } from "../guest-isa/diagnostics.js";
import { readElf } from "../guest-isa/elf.js";
import type { ElfImage } from "../guest-isa/elf-types.js";
import { backends } from "../hypervisors/index.js";
import { bareExport, bareImport, isMigratable, isWholeIn, type NeutralState } from "../hypervisors/common/neutral-state.js";
import { COST_KEYS, type CostModel } from "../machine/cost-model.js";
import { memoryDisk, readWholeDisk, type DiskBacking } from "../machine/devices/disk.js";
import { inNvdiskWindow, nvdiskStateProblem } from "../machine/devices/nvdisk.js";
import type { MachineState } from "../machine/machine-state.js";
import { memoryOptions, PAGE_SIZE, type PhysicalMemory } from "../machine/memory.js";
import { MAX_CPUS } from "../machine/machine.js";
import { MAX_DOMAINS, ProtectionError } from "../machine/protection/protection.js";
import { backendFrom, prepareImage, getBackend, type Backend } from "../hypervisors/index.js";
import { decodeSnapshot, type Zlib } from "./codec.js";
import { giveBackIfThrows, newGuest, type Guest, type GuestOptions } from "./guest.js";
import { resumeAfterSite, SiteMap } from "./safe-point.js";

export interface Snapshot {
  /** The back end the guest was running on. */
  backend: string;
  /** The original (unrewritten) ELF file. */
  elf: Uint8Array;
  /** The guest's cycle count (N counts from reset across snapshots). */
  cycle: number;
  ramSize: number;
  diskLatency: number;
  costModel: Record<string, number>;
  /** The console output before the snapshot. */
  console: string;
  machine: MachineState;
  /** The virtual state of every CPU in the neutral form, by CPU number (docs/migration.md, "Several CPUs"). */
  neutral: NeutralState[];
  /** The source monitor's private state (null on bare metal). */
  exact: Record<string, unknown> | null;
  /** Frame numbers of the non-zero pages of RAM (monitor-reserved pages included), ascending. */
  pages: Uint32Array;
  /** Their contents, PAGE_SIZE bytes each, in the same order. */
  pageData: Uint8Array;
  /** The disk image (null: no disk). */
  disk: Uint8Array | null;
  /** The memory-mapped disk's image (null: none attached); its registers and queues are machine.nvdisk. */
  nvdisk: Uint8Array | null;
  /** Whether the nvdisk was passed through (kept on a back end that can, emulated elsewhere). */
  passthrough: boolean;
}

/**
 * Node's Buffer where there is one: its compare is memcmp, several times
 * faster than a JS loop over a 64 MiB RAM. In a browser (the playground's
 * worker) there is none, and the loop below does the same job: either way the
 * same pages (test/web/core-bundle.test.ts compares a move made without
 * Buffer with the same move in Node).
 */
const hostBuffer = (globalThis as { Buffer?: { alloc(n: number): { compare(t: Uint8Array, start: number, end: number): number }; from(b: ArrayBufferLike, offset: number, length: number): Uint8Array } }).Buffer;
const ZERO_PAGE = hostBuffer?.alloc(PAGE_SIZE);

/**
 * Frame numbers of the non-zero pages among frames [from, to) of `memory`.
 * Only frames its written-chunk record says may hold data are compared
 * (memory.ts `mayHoldData`): the rest are zero, and comparing all 64 MiB at
 * every snapshot read mostly untouched memory. Under the record's check
 * (`memoryOptions.verifyWritten`, the tests) the record is verified first.
 */
export function nonZeroPages(memory: PhysicalMemory, from: number, to: number): number[] {
  if (memoryOptions.verifyWritten) memory.verifyWritten();
  const mem = memory.u8;
  const out: number[] = [];
  if (hostBuffer && ZERO_PAGE) {
    const buf = hostBuffer.from(mem.buffer, mem.byteOffset, mem.byteLength);
    for (let f = from; f < to; f++) if (memory.mayHoldData(f) && ZERO_PAGE.compare(buf, f * PAGE_SIZE, (f + 1) * PAGE_SIZE) !== 0) out.push(f);
    return out;
  }
  // Word by word where the bytes are word-aligned (RAM always is), stopping at a page's first non-zero word.
  const aligned = mem.byteOffset % 4 === 0;
  const words = aligned ? new Int32Array(mem.buffer, mem.byteOffset, mem.byteLength >>> 2) : mem;
  const per = aligned ? PAGE_SIZE >>> 2 : PAGE_SIZE;
  for (let f = from; f < to; f++) {
    if (!memory.mayHoldData(f)) continue;
    const end = (f + 1) * per;
    for (let i = f * per; i < end; i++) {
      if (words[i] !== 0) {
        out.push(f);
        break;
      }
    }
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The guest's neutral virtual state, one per CPU, from whatever back end
 * runs it (each exported in its CPU's context). A CPU stopped where only
 * its back end can continue (halted after a `hlt` site, or in the VMM's
 * return from an emulated site) also records where it resumes elsewhere
 * (safe-point.ts `resumeAfterSite`).
 */
export function exportNeutral(guest: Guest): NeutralState[] {
  const m = guest.machine;
  const mon = guest.monitor;
  const sites = new SiteMap(guest);
  return Array.from({ length: m.cpuCount }, (_, n) =>
    m.inCpu(n, () => {
      const s = isMigratable(mon) ? mon.exportNeutral() : bareExport(m);
      const pc = resumeAfterSite(guest, sites);
      if (pc !== undefined) s.pc = pc | 0;
      return s;
    }),
  );
}

/** Sets every CPU's virtual state on the guest's new back end (its RAM, registers and devices restored already). */
function importNeutral(guest: Guest, states: readonly NeutralState[]): void {
  const m = guest.machine;
  const mon = guest.monitor;
  if (isMigratable(mon)) mon.beginImport?.();
  else if (mon) throw new Error(`internal: back end ${guest.backend.name} cannot take a migrated guest (newGuest checks)`);
  states.forEach((s, n) =>
    m.inCpu(n, () => {
      if (isMigratable(mon)) mon.importNeutral(s);
      else bareImport(m, s);
      if (s.pc !== undefined) m.pc = s.pc;
    }),
  );
}

/**
 * A stopped guest (at a safe point) as a snapshot. `withMemory: false` leaves
 * RAM out (live migration has sent it already, page by page); `withDisk:
 * false` the disk image (an in-process move hands the disk itself over).
 */
export function captureSnapshot(guest: Guest, withMemory = true, withDisk = true): Snapshot {
  const m = guest.machine;
  const state = m.saveState();
  const mem = m.memory;
  const pages = withMemory ? nonZeroPages(mem, 0, mem.size >>> 12) : [];
  const pageData = new Uint8Array(pages.length * PAGE_SIZE);
  pages.forEach((f, i) => pageData.set(mem.u8.subarray(f * PAGE_SIZE, (f + 1) * PAGE_SIZE), i * PAGE_SIZE));
  return {
    backend: guest.backend.name,
    elf: guest.elf,
    cycle: m.cycles,
    ramSize: guest.ramSize,
    diskLatency: guest.diskLatency,
    costModel: { ...guest.costModel },
    console: guest.console,
    machine: state,
    neutral: exportNeutral(guest),
    exact: isMigratable(guest.monitor) ? guest.monitor.saveExact() : null,
    pages: Uint32Array.from(pages),
    pageData,
    disk: guest.disk && withDisk ? readWholeDisk(guest.disk) : null,
    // The nvdisk's image always travels: no caller hands its backing over.
    nvdisk: guest.options.nvdisk ? readWholeDisk(guest.options.nvdisk) : null,
    passthrough: guest.options.nvdisk !== undefined && guest.options.passthrough === true,
  };
}

export interface RestoreOptions extends Omit<GuestOptions, "costModel" | "ramSize" | "diskLatency" | "cpus"> {
  /** Replaces the snapshot's cost model for the rest of the run. */
  costModel?: CostModel;
  /** The parsed ELF, when the caller has it already. */
  image?: ElfImage;
  /**
   * Pages to load instead of the snapshot's (live migration: what the pre-copy
   * rounds delivered). Frame → contents.
   */
  memory?: { pages: ArrayLike<number>; data: (i: number) => Uint8Array };
}

/** What restoreGuest did, for reports and tests. */
export interface RestoreInfo {
  /** Resumed on the back end that saved the snapshot: its exact state was restored. */
  exact: boolean;
  /** Sites whose words were restored and rewritten for the new back end. */
  sitesRepatched: number;
}

/**
 * A resume's --pcpus and --timeslice on the back end that took the snapshot,
 * given no --pcpus of its own: the snapshot's schedule (savedSchedule), or
 * its physical CPUs with the resume's --timeslice (a schedule started afresh).
 */
function scheduleFor(snap: Snapshot, quantum: number | undefined, timeslice: number | undefined): { pcpus?: number; timeslice?: number } {
  const saved = savedSchedule(snap, quantum);
  if (timeslice === undefined) return saved;
  return saved.pcpus === undefined ? {} : { pcpus: saved.pcpus, timeslice };
}

/**
 * The --pcpus schedule the snapshot's monitor ran (its exact state's
 * `scheduler`), which a resume on the same back end continues unless it is
 * given --pcpus of its own (scheduleFor) — as the quantum is the
 * snapshot's unless given (a --quantum its slice is no multiple of keeps
 * the physical CPUs only). Empty when it ran none. Its values are checked
 * again where the guest is made, and its state by the scheduler's restore.
 */
function savedSchedule(snap: Snapshot, quantum: number | undefined): { pcpus?: number; timeslice?: number } {
  const s = snap.exact?.scheduler;
  if (s === null || s === undefined) return {};
  const o = s as Record<string, unknown>;
  if (typeof s !== "object" || !isWholeIn(o.pcpus, 1, snap.machine.cpus.length) || !isWholeIn(o.timeslice, 1, 2 ** 31 - 1)) {
    throw new UserError(`malformed snapshot: the ${snap.backend} monitor's scheduler names no whole --pcpus from 1 to ${snap.machine.cpus.length} and --timeslice`);
  }
  // A --quantum the saved slice is no multiple of: that many physical CPUs, the slice's default.
  return quantum === undefined || o.timeslice % quantum === 0 ? { pcpus: o.pcpus, timeslice: o.timeslice } : { pcpus: o.pcpus };
}

/**
 * Builds a guest on `on` (a back end's name, or the object) from a snapshot, ready to run on. The
 * binary is checked against the back end first (a para-virtualized binary
 * elsewhere than xen is refused), before any state is loaded.
 */
export function restoreGuest(snap: Snapshot, on: string | Backend, options: RestoreOptions = {}): { guest: Guest; info: RestoreInfo } {
  const backend = backendFrom(on);
  const backendName = backend.name;
  const image = options.image ?? snapshotImage(snap, options.file);
  const disk: DiskBacking | undefined = options.disk ?? (snap.disk ? memoryDisk(new Uint8Array(snap.disk)) : undefined);
  if (options.disk && snap.disk) {
    // The snapshot's disk contents go to the backing the caller gave (e.g. a --disk file).
    for (let s = 0; s < Math.min(options.disk.sectors, snap.disk.length / 512); s++) options.disk.writeSector(s, snap.disk.subarray(s * 512, (s + 1) * 512));
  }
  const nvdisk: DiskBacking | undefined = snap.nvdisk ? (options.nvdisk ?? memoryDisk(new Uint8Array(snap.nvdisk))) : undefined;
  if (options.nvdisk && snap.nvdisk) {
    for (let s = 0; s < Math.min(options.nvdisk.sectors, snap.nvdisk.length / 512); s++) options.nvdisk.writeSector(s, snap.nvdisk.subarray(s * 512, (s + 1) * 512));
  }
  const costModel = options.costModel ?? (snap.costModel as CostModel);
  // As many CPUs as were saved; the quantum may be changed (options.quantum), the physical CPUs too.
  const guest = newGuest(snap.elf, image, backend, {
    ...options, disk, costModel, ramSize: snap.ramSize, diskLatency: snap.diskLatency,
    nvdisk, passthrough: snap.passthrough && backend.passthrough === true,
    cpus: snap.machine.cpus.length, quantum: options.quantum ?? snap.machine.quantum,
    ...(options.pcpus === undefined && backendName === snap.backend ? scheduleFor(snap, options.quantum, options.timeslice) : {}),
    // Taken with --no-protect: resumed there without the VMM's domain too (a resume cannot ask for it back).
    ...(backendName === snap.backend && snap.exact?.protect === false ? { protect: false } : {}),
  });
  // Refused (the snapshot does not fit this back end, or is malformed past its validator): the machine made above
  // goes back first (made here and not handed out yet — the caller gets only the error).
  return giveBackIfThrows(guest, () => restoreInto(guest, snap, backend, image, options));
}

/** restoreGuest's second half: the snapshot's pages and state into `guest`, just made for it. */
function restoreInto(guest: Guest, snap: Snapshot, backend: Backend, image: ElfImage, options: RestoreOptions): { guest: Guest; info: RestoreInfo } {
  const backendName = backend.name;
  guest.console = snap.console;
  const m = guest.machine;
  const mem = m.memory;
  const exact = backendName === snap.backend && (snap.exact !== null) === isMigratable(guest.monitor);
  const pages = options.memory?.pages ?? snap.pages;
  const pageOf = options.memory?.data ?? ((i: number) => snap.pageData.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
  let sitesRepatched = 0;

  if (exact) {
    if (mem.guestLimit !== snap.machine.guestLimit) throw new UserError(`snapshot: guest RAM limit 0x${snap.machine.guestLimit.toString(16)} does not match ${backendName}'s 0x${mem.guestLimit.toString(16)}`);
    for (let i = 0; i < pages.length; i++) mem.writeBytes(pages[i] * PAGE_SIZE, pageOf(i));
    try {
      m.restoreState(snap.machine, true);
    } catch (e) {
      if (e instanceof ProtectionError) {
        // Without the VMM's domain the guest's own cannot keep their numbers: not a damaged file, an option.
        if (snap.exact?.protect === true && options.protect === false) {
          throw new UserError(`snapshot taken with the VMM's protection domain, whose guest numbered domains of its own after it: --no-protect cannot resume it on ${backendName} (resume it without --no-protect, or on another back end)`);
        }
        throw new UserError(`malformed snapshot: the guest's protection domains (${e.message})`);
      }
      throw e;
    }
    const monitor = asMigratable(guest);
    if (monitor) {
      try {
        monitor.restoreExact(snap.exact!);
      } catch (e) {
        throw new UserError(`malformed snapshot: the ${snap.backend} monitor's state (${(e as Error).message})`);
      }
      const problem = monitor.exactProblem?.();
      if (problem) throw new UserError(`malformed snapshot: ${problem}`);
    }
  } else {
    // Guest memory only: the source monitor's reserved pages stay behind.
    const srcLimit = snap.machine.guestLimit >>> 12;
    const dstLimit = mem.guestLimit >>> 12;
    for (let i = 0; i < pages.length; i++) {
      const f = pages[i];
      if (f >= srcLimit) continue;
      if (f >= dstLimit) throw new UserError(`cannot move the guest to ${backendName}: it uses physical page 0x${(f * PAGE_SIZE).toString(16)}, which ${backendName} reserves for itself`);
      mem.writeBytes(f * PAGE_SIZE, pageOf(i));
    }
    sitesRepatched = repatchSites(guest, image, snap);
    try {
      m.restoreState(snap.machine, false);
    } catch (e) {
      // A guest domain's code range cutting one of the target's rewritten sites (or reaching past its guest memory).
      if (e instanceof ProtectionError) throw new UserError(`cannot move the guest to ${backendName}: its protection domains cannot be set up there (${e.message})`);
      throw e;
    }
    importNeutral(guest, snap.neutral);
  }
  return { guest, info: { exact, sitesRepatched } };
}

/** The snapshot's binary, parsed; a malformed one is a UserError naming it (`file`: the CLI's "F.snap (its binary)"), as prepareImage names it. */
function snapshotImage(snap: Snapshot, file = "the snapshot's binary"): ElfImage {
  try {
    return readElf(snap.elf);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${file}: ${e.message}`);
    throw e;
  }
}

function asMigratable(g: Guest) {
  return isMigratable(g.monitor) ? g.monitor : undefined;
}

/**
 * Re-patching at run time: each site's words, as the source back end's
 * rewriter left them, are put back to the binary's original words, then
 * rewritten as the target's rewriter does. Through `memory.writeBytes` (the
 * machine's memory API), so caches of decoded or translated code see it.
 * A site whose words are not what the source wrote (self-modified code) is
 * refused.
 */
function repatchSites(guest: Guest, image: ElfImage, snap: Snapshot): number {
  const source = prepareImage(getBackend(snap.backend), image, undefined, "native", snap.passthrough);
  const target = guest.rewrite;
  if (!target.annotated) return 0;
  const mem = guest.machine.memory;
  const bytes = (w: Uint32Array) => new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
  const tSites = target.sites;
  let n = 0;
  source.sites.forEach((s, i) => {
    const t = tSites[i];
    const at = s.record.addr >>> 0;
    if (t.record.addr >>> 0 !== at) throw new Error("internal: source and target site lists differ");
    const now = mem.readBytes(at, s.record.length);
    if (!sameBytes(now, bytes(s.after))) {
      throw new UserError(`cannot move the guest from ${snap.backend} to ${guest.backend.name} at cycle ${Math.floor(snap.cycle)}: the site at 0x${at.toString(16)} was modified while it ran (self-modifying code), which re-patching it would lose`);
    }
    mem.writeBytes(at, bytes(s.before)); // the rewriter's restore: the original instruction and padding
    mem.writeBytes(at, bytes(t.after)); // rewritten for the target
    n++;
  });
  return n;
}

// ---------------------------------------------------------------- bytes

/** A snapshot file's bytes, checked and parsed; a UserError naming `what` for anything wrong. */
export function parseSnapshot(bytes: Uint8Array, what: string, zlib: Zlib): Snapshot {
  const doc = decodeSnapshot(bytes, what, zlib);
  validateSnapshot(doc, what);
  return doc;
}

/**
 * The guest's protection domains (machine.protection.guest): the kernel
 * domain first, then at most MAX_DOMAINS - 1 more, each with its own guest
 * id, one or a few ordered code ranges none of which overlaps another
 * domain's, and ordered, non-overlapping, word-aligned grants of a
 * permission 0–3 inside guest memory (the rest the restore checks as the
 * supervisor checks a call: a range that cuts the target's sites).
 */
function guestDomainsProblem(v: unknown, guestLimit: number, bad: (msg: string) => never): void {
  const at = "protection.guest";
  if (!Array.isArray(v) || v.length < 1 || v.length > MAX_DOMAINS) bad(`${at} must hold 1 to ${MAX_DOMAINS} domains`);
  const handles = new Set<number>();
  const ids = new Set<number>();
  const code: [number, number][] = [];
  (v as unknown[]).forEach((x, n) => {
    const where = `${at}[${n}]`;
    if (x === null || typeof x !== "object" || Array.isArray(x)) bad(`${where} is not an object`);
    const d = x as Record<string, unknown>;
    const int = (k: string, lo: number, hi: number) => (Number.isSafeInteger(d[k]) && (d[k] as number) >= lo && (d[k] as number) <= hi ? (d[k] as number) : bad(`${where}.${k}`));
    const kernel = n === 0;
    const id = int("id", 0, MAX_DOMAINS - 1);
    const handle = int("handle", 0, 0x7fff_ffff);
    if (kernel !== (id === 0) || kernel !== (handle === 0)) bad(`${where}: the kernel domain (id 0) must come first, and only there`);
    if (ids.has(id) || handles.has(handle)) bad(`${where}: its id or guest id is another domain's`);
    ids.add(id);
    handles.add(handle);
    if (typeof d.name !== "string" || d.name.length > 64) bad(`${where}.name`);
    if (!(d.ranges instanceof Uint32Array) || d.ranges.length % 2 || d.ranges.length > 2 * MAX_DOMAINS) bad(`${where}.ranges is not pairs of addresses`);
    const ranges = d.ranges as Uint32Array;
    if (kernel !== (ranges.length === 0)) bad(`${where}: the kernel domain has no code range, every other at least one`);
    for (let i = 0; i < ranges.length; i += 2) {
      if (!(ranges[i + 1] > ranges[i])) bad(`${where}: code range ${i / 2} is empty`);
      if (i > 0 && ranges[i] < ranges[i - 1]) bad(`${where}: code ranges are not ascending`);
      for (const [s, e] of code) if (s < ranges[i + 1] && ranges[i] < e) bad(`${where}: its code overlaps another domain's`);
    }
    for (let i = 0; i < ranges.length; i += 2) code.push([ranges[i], ranges[i + 1]]);
    if (!(d.perms instanceof Uint32Array) || d.perms.length % 3) bad(`${where}.perms is not (address, bytes, permission) triples`);
    const perms = d.perms as Uint32Array;
    let end = 0;
    for (let i = 0; i < perms.length; i += 3) {
      const [pa, bytes, perm] = [perms[i], perms[i + 1], perms[i + 2]];
      if (pa % 4 || bytes % 4 || bytes === 0) bad(`${where}: grant ${i / 3} is not a non-empty word-aligned range`);
      if (pa < end) bad(`${where}: grants are not ascending and apart`);
      if (pa + bytes > guestLimit) bad(`${where}: grant ${i / 3} reaches beyond guest memory`);
      if (perm > 3) bad(`${where}: grant ${i / 3} has permission ${perm} (0–3)`);
      end = pa + bytes;
    }
  });
}

/** Checks every field's type and size, so restoring cannot fail half-way or read outside an array. */
function validateSnapshot(doc: unknown, what: string): asserts doc is Snapshot {
  const bad = (msg: string): never => {
    throw new UserError(`${what}: malformed snapshot: ${msg}`);
  };
  const obj = (v: unknown, name: string): Record<string, unknown> => (v !== null && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v) ? (v as Record<string, unknown>) : bad(`${name} is not an object`));
  const num = (v: unknown, name: string, int = true): number =>
    typeof v === "number" && (int ? Number.isSafeInteger(v) || v === Infinity : !Number.isNaN(v)) ? v : bad(`${name} is not a number`);
  const typed = <T>(v: unknown, ctor: new (...a: never[]) => T, name: string, length?: number): T => {
    if (!(v instanceof ctor)) return bad(`${name} has the wrong type`);
    if (length !== undefined && (v as unknown as { length: number }).length !== length) bad(`${name} has the wrong length`);
    return v;
  };
  const s = obj(doc, "the document");
  if (typeof s.backend !== "string" || !backends.has(s.backend)) bad(`unknown back end '${String(s.backend)}'`);
  typed(s.elf, Uint8Array, "elf");
  const clock = (v: number) => v >= 0 && v <= Number.MAX_SAFE_INTEGER;
  if (!clock(num(s.cycle, "cycle", false))) bad("cycle is not a cycle count");
  const ram = num(s.ramSize, "ramSize");
  if (ram <= 0 || ram % PAGE_SIZE !== 0 || ram > 0x8000_0000) bad("ramSize");
  num(s.diskLatency, "diskLatency", false);
  const cm = obj(s.costModel, "costModel");
  for (const k of COST_KEYS) if (typeof cm[k] !== "number" || !(cm[k] as number >= 0)) bad(`cost model entry ${k}`);
  if (typeof s.console !== "string") bad("console");
  const mc = obj(s.machine, "machine");
  if (!Array.isArray(mc.cpus) || mc.cpus.length < 1 || mc.cpus.length > MAX_CPUS) bad(`machine.cpus must hold 1 to ${MAX_CPUS} CPUs`);
  const cpus = mc.cpus as unknown[];
  // A machine with the nvdisk may have its register pages in a TLB (a guest's mapping of them, or passthrough).
  const hasNvdisk = s.nvdisk !== null; // its type is checked below
  const current = num(mc.current, "machine.current");
  if (current < 0 || current >= cpus.length) bad("machine.current is not one of the CPUs");
  const quantum = num(mc.quantum, "machine.quantum");
  if (quantum < 1 || quantum > 1e9) bad("machine.quantum");
  cpus.forEach((v, n) => {
    const at = `cpus[${n}]`;
    const cpu = obj(v, at);
    typed(cpu.regs, Int32Array, `${at}.regs`, 16);
    // r0 reads as zero: the interpreter keeps it so after every write, the JIT compiles it as the constant.
    if ((cpu.regs as Int32Array)[0] !== 0) bad(`${at}.regs[0] (r0) must be 0`);
    typed(cpu.cr, Int32Array, `${at}.cr`, 8);
    typed(cpu.trace, Int32Array, `${at}.trace`, 64);
    for (const k of ["pc", "psr", "instret", "traceIdx", "pauses", "lines", "startAddress"]) num(cpu[k], `${at}.${k}`);
    // A clock is a count from reset: an infinite one ends the run without a result, one past 2^53 stops advancing.
    for (const k of ["cycles", "idleCycles", "descheduledCycles"]) if (!clock(num(cpu[k], `${at}.${k}`, false))) bad(`${at}.${k} is not a cycle count`);
    if ((cpu.traceIdx as number) < 0 || (cpu.traceIdx as number) >= 64 || (cpu.traceIdx as number) % 2) bad(`${at}.traceIdx`);
    if (!["stopped", "running", "halted"].includes(cpu.run as string)) bad(`${at}.run`);
    const tlb = obj(cpu.tlb, `${at}.tlb`);
    for (const k of ["page", "frame", "perm"]) typed(tlb[k], Int32Array, `${at}.tlb.${k}`, 1024);
    for (const f of tlb.frame as Int32Array) if (((f < 0 || f + PAGE_SIZE > ram) && !(hasNvdisk && inNvdiskWindow(f))) || f % PAGE_SIZE) bad(`${at}.tlb.frame outside RAM`);
    const lf = obj(cpu.lastFault, `${at}.lastFault`);
    for (const k of ["cause", "epc", "badva", "repeats"]) num(lf[k], `${at}.lastFault.${k}`);
    const timer = obj(cpu.timer, `${at}.timer`);
    for (const k of ["period", "next", "ticks"]) num(timer[k], `${at}.timer.${k}`, false);
    // As the timer keeps them (timer.ts): a stopped timer (period 0) never fires, a running one at a whole cycle;
    // anything else loops the machine (a period-0 timer due now computes its next tick as NaN).
    const period = timer.period as number;
    if (!Number.isInteger(period) || period < 0 || period > 0xffff_ffff) bad(`${at}.timer.period`);
    if (period === 0 ? timer.next !== Infinity : !(Number.isSafeInteger(timer.next) && (timer.next as number) >= 0)) bad(`${at}.timer.next`);
    if (!Number.isSafeInteger(timer.ticks) || (timer.ticks as number) < 0) bad(`${at}.timer.ticks`);
  });
  typed(mc.watched, Uint8Array, "machine.watched", ram >>> 12);
  const counters = obj(mc.counters, "machine.counters");
  // Every count a number (the run adds to them, and a snapshot of it would hold NaN): the tallies entry by entry.
  for (const k of ["exceptions", "interrupts", "events", "counts"]) for (const [name, v] of Object.entries(obj(counters[k], `counters.${k}`))) num(v, `counters.${k}.${name}`, false);
  for (const k of ["instructions", "cycles", "tlbMisses", "tlbFlushes", "deviceAccesses"]) if (counters[k] !== undefined) num(counters[k], `counters.${k}`, false);
  const limit = num(mc.guestLimit, "machine.guestLimit");
  if (limit <= 0 || limit > ram || limit % PAGE_SIZE) bad("machine.guestLimit");
  const disk = obj(mc.disk, "machine.disk");
  for (const k of ["sector", "dma", "status", "command", "completesAt", "transfers"]) num(disk[k], `disk.${k}`, false);
  if (typeof obj(mc.console, "machine.console").rxIrq !== "boolean") bad("machine.console.rxIrq");
  if (mc.protection !== undefined) {
    // The protection unit's cache and counters (src/machine/protection): sizes checked here, so a damaged one is refused, not silently dropped.
    const p = obj(mc.protection, "machine.protection");
    const plb = obj(p.plb, "machine.protection.plb");
    typed(plb.frameTag, Float64Array, "protection.plb.frameTag", PLB_FRAMES);
    typed(plb.framePerm, Uint8Array, "protection.plb.framePerm", PLB_FRAMES);
    typed(plb.blockTag, Float64Array, "protection.plb.blockTag", PLB_BLOCKS);
    typed(plb.blockBits, Int32Array, "protection.plb.blockBits", PLB_BLOCKS);
    const pc = obj(p.counters, "machine.protection.counters");
    for (const [k, v] of Object.entries(pc)) num(v, `protection.counters.${k}`);
    if (p.guest !== undefined) guestDomainsProblem(p.guest, num(mc.guestLimit, "machine.guestLimit"), bad);
  }
  if (mc.supervisor !== undefined) typed(mc.supervisor, Int32Array, "machine.supervisor", 5);
  if (mc.spin !== undefined) {
    // Spin accounting (src/machine/spin-accounting.ts): one entry per CPU, (word, value) pairs of RAM words.
    const sp = obj(mc.spin, "machine.spin");
    typed(sp.waitStart, Float64Array, "spin.waitStart", cpus.length);
    typed(sp.ranLast, Uint8Array, "spin.ranLast", cpus.length);
    const ticketWord = typed(sp.ticketWord, Int32Array, "spin.ticketWord", cpus.length);
    typed(sp.ticketOf, Int32Array, "spin.ticketOf", cpus.length);
    for (const w of ticketWord) if (w < -1 || w >= ram >>> 2) bad("spin.ticketWord outside RAM");
    for (const k of ["owner", "ownerTicket"]) {
      const pairs = typed(sp[k], Int32Array, `spin.${k}`);
      if (pairs.length % 2) bad(`spin.${k} is not pairs`);
      for (let i = 0; i < pairs.length; i += 2) if (pairs[i] < 0 || pairs[i] >= ram >>> 2 || (k === "owner" && (pairs[i + 1] < 0 || pairs[i + 1] >= cpus.length))) bad(`spin.${k} names a word or CPU that does not exist`);
    }
    if (!Array.isArray(sp.counters) || sp.counters.length !== 6) bad("spin.counters");
    (sp.counters as unknown[]).forEach((v, i) => num(v, `spin.counters[${i}]`, false));
  }
  if (!Array.isArray(s.neutral) || s.neutral.length !== cpus.length) bad("neutral must hold one virtual CPU per CPU");
  (s.neutral as unknown[]).forEach((v, n) => {
    const neutral = obj(v, `neutral[${n}]`);
    num(neutral.psr, `neutral[${n}].psr`);
    if (!Array.isArray(neutral.cr) || neutral.cr.length !== 8) bad(`neutral[${n}].cr`);
    (neutral.cr as unknown[]).forEach((x, i) => num(x, `neutral[${n}].cr[${i}]`));
    if (neutral.pc !== undefined && (num(neutral.pc, `neutral[${n}].pc`) & 3) !== 0) bad(`neutral[${n}].pc is not word-aligned`);
  });
  if (s.exact !== null) obj(s.exact, "exact");
  const pages = typed(s.pages, Uint32Array, "pages");
  typed(s.pageData, Uint8Array, "pageData", pages.length * PAGE_SIZE);
  let last = -1;
  for (const f of pages) {
    if (f <= last || f >= ram >>> 12) bad("pages are not ascending frames of RAM");
    last = f;
  }
  if (s.disk !== null) {
    const d = typed(s.disk, Uint8Array, "disk");
    if (d.length % 512) bad("disk is not whole sectors");
  }
  if (typeof s.passthrough !== "boolean") bad("passthrough");
  if (s.nvdisk !== null) {
    const d = typed(s.nvdisk, Uint8Array, "nvdisk");
    // Any whole number of sectors, none included: the machine attaches an empty image too (every request an error).
    if (d.length % 512) bad("nvdisk is not whole sectors");
    if (mc.nvdisk === undefined) bad("machine.nvdisk is missing");
    const p = nvdiskStateProblem(mc.nvdisk);
    if (p) bad(`machine.nvdisk.${p}`);
  } else if (mc.nvdisk !== undefined || s.passthrough) bad("an nvdisk state without its image");
}
