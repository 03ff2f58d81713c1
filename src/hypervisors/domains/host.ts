// The multi-guest host: several guests ("domains") on one back end, each in
// a machine of its own (own RAM, devices, console, CPUs, and its own
// back-end monitor: its own in-place VMM state), run in simulated time by
// one deterministic rule. It consumes the guests' specifications (an ELF
// image each, memory, disk, what it serves and uses) and produces each
// domain's console, counters and ending, the restarts of driver domains,
// and one exit status. It sits between the CLI (`previrt run --guest …`,
// `--domains FILE`, `previrt drivers`) and the per-guest pieces runElf uses
// (prepareGuest, buildMachine). docs/driver-vms.md is the user's
// description; the rules below are the reasons.
//
// - Scheduling: global time advances in windows of `window` cycles (default
//   1,000). In each window every live domain, in domid order, runs until
//   its clock reaches the window's end (machine.runUntil: exact, as if it
//   had not paused). Each domain has its own physical CPUs (dedicated): a
//   domain's clock is its machine's clock plus the global cycle its machine
//   started at (0, or the restart time).
// - Events sent during a window become pending at its end (services.deliver):
//   a notification's latency is at most one window (plus the sender's last
//   instruction), never negative, and the order is a function of the clocks
//   alone.
// - Shared pages: after each domain's turn its writable shared pages are
//   copied to the other side where they differ (only one domain runs at a
//   time, so this is shared memory at switch granularity); a read-only
//   mapping's page is restored from the granter's instead, and the attempt
//   counted: the granter's page never changes through it. Only the pages
//   one side may have written since the two were last the same are
//   compared: the machines track writes to the shared frames, host-only
//   (services.mayDifferFor), so pages nobody writes cost the host nothing.
//   The next runUntil tells the JIT that memory may have changed.
// - A halted domain waiting for another is idle, not deadlocked
//   (machine.externalEvents); when every live domain waits for ever with no
//   event in flight, they all stop with hlt-deadlock.
// - Driver domains (role "driver") are restarted from their ELF when they
//   end other than by a clean power-off (code 0), or when the watchdog sees
//   one of their events pending unacknowledged for `watchdog` cycles: a
//   fresh machine, same domid and disk, generation + 1, everything it held
//   torn down (services.tearDown), its clients' control port raised. A
//   domain that ends for good (any role) is torn down the same way (over).
// - The CLI runs it with runSliced, which awaits between windows every 2^24
//   cycles of global time (the user's Ctrl-C: every live domain stops
//   there, "interrupted"); pausing there changes nothing.

import type { ElfImage } from "../../guest-isa/elf-types.js";
import { encodeInstruction } from "../../guest-isa/encoding.js";
import { CR, REG } from "../../guest-isa/registers.js";
import type { CostModel } from "../../machine/cost-model.js";
import { memoryDisk, type DiskBacking } from "../../machine/devices/disk.js";
import { DEFAULT_RAM_SIZE } from "../../machine/memory.js";
import type { RunResult } from "../../machine/diagnosis.js";
import type { Engine, Machine } from "../../machine/machine.js";
import { buildMachine, SLICE_CYCLES, stopInterrupted, type BetweenSlices, type RunImageOptions } from "../../machine/run-image.js";
import type { MachineStats } from "../../machine/stats.js";
import type { RewriteResult } from "../../rewriter/index.js";
import { quotedName, UserError } from "../../guest-isa/diagnostics.js";
import { backendFrom, backends, hostingBackends, prepareGuest, type Backend } from "../index.js";
import { HC } from "../common/hypercalls.js";
import { isMigratable } from "../common/neutral-state.js";
import type { WedgeMonitor } from "../common/wedge-monitor.js";
import { DEVICE_KIND, isDeviceKind, type DeviceKindName } from "./abi.js";
import { DomainDevice } from "./domain-device.js";
import { copyPage, DomainServices, samePage, type ServedDomain } from "./services.js";

/** Default scheduling window in cycles: the bound on a cross-domain notification's latency. */
export const DEFAULT_WINDOW = 1_000;
/** Default watchdog: a driver domain with an event pending unacknowledged this long is hung. */
export const DEFAULT_WATCHDOG = 500_000;
/**
 * Until a driver domain has acknowledged its first event since it (re)started,
 * it is still booting (the bundled kernel calibrates its timer first): its
 * events may stay pending this many watchdogs before it counts as hung.
 */
export const BOOT_WATCHDOGS = 4;
/** Restarts of one driver domain after which it stays down. */
export const DEFAULT_MAX_RESTARTS = 1_000;

export interface DomainSpec {
  /** Its console prefix and the name the configuration refers to it by. */
  name: string;
  image: ElfImage;
  /** The ELF's file name, for error messages. */
  file?: string;
  ramSize?: number;
  cpus?: number;
  /** Its disk (kept across restarts). */
  disk?: Uint8Array | DiskBacking;
  /** "driver": a restartable service domain (its end does not end the run). */
  role?: "driver" | "guest";
  /** Device kinds it serves to the domains that use them from it. */
  serves?: readonly DeviceKindName[];
  /** Device kinds it uses, and from which domain (by name). */
  uses?: Partial<Record<DeviceKindName, string>>;
  /** The memory-mapped disk and whether it is passed through (h18mmio's device; carried for it). */
  nvdisk?: Uint8Array | DiskBacking;
  passthrough?: boolean;
}

/** A crash the host injects into a domain (seeded; the driver-restart runner). */
export interface CrashInjection {
  domain: string;
  /** Global cycle: injected at the first window end at or after it. */
  at: number;
  /** "wild-store": the current instruction becomes a store to an address outside the domain's RAM; "hang": it and the interrupt vector become branch-to-self. */
  kind: "wild-store" | "hang";
  /** Picks the wild address. */
  seed: number;
}

export interface HostOptions {
  backend: string | Backend;
  window?: number;
  maxCycles?: number;
  costModel?: CostModel;
  engine?: Engine;
  /** See MachineOptions.jitThreshold (tests). */
  jitThreshold?: number;
  protect?: boolean;
  diskLatency?: number;
  /** Watchdog in cycles for driver domains (0: off). */
  watchdog?: number;
  maxRestarts?: number;
  crashes?: readonly CrashInjection[];
  /** Streams a domain's console output as it comes (raw text; see prefixLines). */
  onOutput?: (domain: number, text: string) => void;
  /**
   * Called when a driver domain is about to be restarted, before anything it
   * held is torn down (its grants, its clients' pages still as they were):
   * for a runner that inspects what was in flight (src/cli/drivers).
   */
  onRestart?: (domain: number, record: RestartRecord, host: DomainHost) => void;
}

export interface RestartRecord {
  /** Global cycle the old machine ended (or the watchdog fired). */
  at: number;
  reason: string;
  generation: number;
  /** Cycles from `at` until the restarted domain accepted a client again (DEV_ACCEPT), if it did. */
  restartCycles?: number;
}

export interface DomainOutcome {
  id: number;
  name: string;
  role: "driver" | "guest";
  /** How its last machine ended; undefined: still running when the run ended (a service whose clients were done). */
  result: RunResult | undefined;
  /** Counters of its current machine (the last generation). */
  stats: MachineStats;
  /** Cycles executed (clock less idle) summed over every generation. */
  executedCycles: number;
  /** Its inter-domain ops refused, by name and error ("GNT_MAP.EBUSY"), over every generation. */
  refused: Record<string, number>;
  /** Everything it wrote to its console, over every generation. */
  console: string;
  generation: number;
  restarts: RestartRecord[];
  /** A driver that ended once more after its last allowed restart (a crash's message says so too). */
  staysDown: boolean;
  /** Its clock (global cycles) when the run ended. */
  cycles: number;
  /** The windows (their end cycles) in which it first and last sent an event (EVT_SEND); -1 if never. */
  firstSend: number;
  lastSend: number;
}

export interface HostOutcome {
  backend: string;
  window: number;
  domains: DomainOutcome[];
  /** The global cycle the run ended at. */
  cycles: number;
  exitCode: number;
  /** Inter-domain ops performed and refused, by name ("GNT_MAP", "GNT_MAP.ENOENT"). */
  ops: Record<string, number>;
  refused: Record<string, number>;
  /** Shared-page copies made, and read-only mapped pages written (restored). */
  pageCopies: number;
  readOnlyWrites: number;
}

class Domain implements ServedDomain {
  machine!: Machine;
  /** Global cycle its current machine started at. */
  offset = 0;
  generation = 0;
  consoleText = "";
  result: RunResult | undefined;
  restarts: RestartRecord[] = [];
  staysDown = false;
  executedBefore = 0;
  device!: DomainDevice;
  firstSend = -1;
  lastSend = -1;
  sentSeen = 0;
  /** Global cycle of the last restart still waiting for its first DEV_ACCEPT. */
  awaitingAccept: RestartRecord | undefined;
  constructor(
    readonly id: number,
    readonly spec: DomainSpec,
    readonly rewrite: RewriteResult,
    readonly makeOptions: (r: RewriteResult) => RunImageOptions,
    readonly disk: DiskBacking | undefined,
  ) {}
  get name(): string {
    return this.spec.name;
  }
  get alive(): boolean {
    return this.result === undefined;
  }
  get role(): "driver" | "guest" {
    return this.spec.role ?? "guest";
  }
  /** Whether the run waits for it: not a driver, serving nothing. */
  get keepsRunAlive(): boolean {
    return this.role !== "driver" && (this.spec.serves ?? []).length === 0;
  }
  get clock(): number {
    return this.offset + this.machine.cycles;
  }
}

/** A guest's name: its console prefix and what a configuration refers to it by; GUEST_NAME_RULE says it in words. */
export const GUEST_NAME = /^[A-Za-z0-9_.-]{1,32}$/;
export const GUEST_NAME_RULE = "1-32 letters, digits, '_', '.' or '-'";

/**
 * `f()`, its refusal (a UserError: the guest's image or memory) naming the
 * guest unless it names its file (a bundled kernel has none). The host running
 * out of memory for the guest's RAM (each guest may have 1 GiB, 64 guests)
 * is the user's configuration too, not an internal error.
 */
function forGuest<T>(name: string, file: string | undefined, ramSize: number | undefined, f: () => T): T {
  try {
    return f();
  } catch (e) {
    // A message that names the guest's file already says whose it is.
    if (e instanceof UserError && (file === undefined || !e.message.includes(file))) throw new UserError(`guest '${name}': ${e.message}`, e.exitCode);
    if (e instanceof RangeError && /allocation failed/i.test(e.message)) {
      throw new UserError(`guest '${name}': the host cannot allocate its ${(ramSize ?? DEFAULT_RAM_SIZE) / 2 ** 20} MiB of RAM beside the guests before it (give less "memory")`);
    }
    throw e;
  }
}

/** Checks the specs against each other (UserErrors naming the guest). */
export function checkSpecs(specs: readonly DomainSpec[]): void {
  if (specs.length < 1) throw new UserError("a multi-guest run needs at least one guest");
  if (specs.length > 64) throw new UserError(`at most 64 guests, not ${specs.length}`);
  const names = new Set<string>();
  for (const s of specs) {
    if (!GUEST_NAME.test(s.name)) throw new UserError(`guest name ${quotedName(s.name)} must be ${GUEST_NAME_RULE}`);
    if (names.has(s.name)) throw new UserError(`two guests are named '${s.name}'`);
    names.add(s.name);
  }
  for (const s of specs) {
    for (const [kind, from] of Object.entries(s.uses ?? {})) {
      if (!isDeviceKind(kind)) throw new UserError(`guest '${s.name}' uses unknown device kind ${quotedName(kind)} (valid: ${Object.keys(DEVICE_KIND).join(", ")})`);
      const server = specs.find((x) => x.name === from);
      if (!server) throw new UserError(`guest '${s.name}' uses ${kind} from ${quotedName(from)}, which is not a guest`);
      if (server === s) throw new UserError(`guest '${s.name}' cannot use ${kind} from itself`);
      if (!(server.serves ?? []).includes(kind as DeviceKindName)) throw new UserError(`guest '${s.name}' uses ${kind} from '${from}', which does not serve ${kind}`);
    }
    for (const kind of s.serves ?? []) if (!isDeviceKind(kind)) throw new UserError(`guest '${s.name}' serves unknown device kind ${quotedName(kind)}`);
  }
}

export class DomainHost {
  readonly backend: Backend;
  readonly window: number;
  private readonly domains: Domain[] = [];
  readonly services: DomainServices;
  private readonly watchdog: number;
  private readonly maxRestarts: number;
  private readonly maxCycles: number;
  private readonly crashes: CrashInjection[];
  private now = 0;
  private pageCopies = 0;
  private readOnlyWrites = 0;
  private compared = 0;

  constructor(
    specs: readonly DomainSpec[],
    private readonly options: HostOptions,
  ) {
    checkSpecs(specs);
    this.backend = backendFrom(options.backend);
    // The back ends that can, from what each states (Backend.createMonitor, unfaithful).
    const hosts = hostingBackends(backends.values()).map((b) => b.name);
    const can = `${hosts.slice(0, -1).join(", ")} or ${hosts[hosts.length - 1]}`;
    if (!this.backend.createMonitor) throw new UserError(`several guests need a hypervisor: ${this.backend.name} has none to share (use ${can})`);
    if (this.backend.unfaithful) throw new UserError(`several guests run on ${can}, not ${this.backend.name}`);
    this.window = options.window ?? DEFAULT_WINDOW;
    if (!Number.isInteger(this.window) || this.window < 1 || this.window > 1e9) throw new UserError(`the window must be a whole number of cycles from 1 to 1000000000, not ${options.window}`);
    this.watchdog = options.watchdog ?? DEFAULT_WATCHDOG;
    if (!Number.isInteger(this.watchdog) || this.watchdog < 0) throw new UserError(`the watchdog must be a whole number of cycles (0: off), not ${options.watchdog}`);
    this.maxRestarts = options.maxRestarts ?? DEFAULT_MAX_RESTARTS;
    this.maxCycles = options.maxCycles ?? Infinity;
    this.crashes = [...(options.crashes ?? [])].sort((a, b) => a.at - b.at);
    for (const c of this.crashes) {
      if (!specs.some((s) => s.name === c.domain)) throw new UserError(`crash injection names ${quotedName(c.domain)}, which is not a guest`);
    }
    const index = new Map(specs.map((s, i) => [s.name, i]));
    this.services = new DomainServices(this.domains, specs.length, (client, kind) => {
      const name = Object.entries(DEVICE_KIND).find(([, v]) => v === kind)?.[0] as DeviceKindName | undefined;
      const from = name === undefined ? undefined : specs[client].uses?.[name];
      return from === undefined ? undefined : index.get(from);
    });
    specs.forEach((spec, id) => {
      const { rewrite, runOptions } = forGuest(spec.name, spec.file, spec.ramSize, () => prepareGuest(spec.image, {
        backend: this.backend,
        file: spec.file,
        cpus: spec.cpus,
        // A multiprocessor guest pauses at epoch boundaries only: its epochs are the windows.
        quantum: (spec.cpus ?? 1) > 1 ? this.window : undefined,
        ramSize: spec.ramSize,
        costModel: options.costModel,
        engine: options.engine,
        jitThreshold: options.jitThreshold,
        protect: options.protect,
        diskLatency: options.diskLatency,
        // The memory-mapped disk (docs/driver-vms.md "VMM-bypass I/O"): in this guest's own machine, passed through or emulated.
        nvdisk: spec.nvdisk,
        passthrough: spec.passthrough,
      }));
      const disk = spec.disk instanceof Uint8Array ? memoryDisk(spec.disk) : spec.disk;
      const d = new Domain(id, spec, rewrite, runOptions, disk);
      this.domains.push(d);
    });
    for (const d of this.domains) forGuest(d.name, d.spec.file, d.spec.ramSize, () => this.boot(d, 0));
  }

  /**
   * Shared pages the coherence step has compared (both sides) so far: host
   * work, not a simulated figure (not in the outcome). Pages nobody wrote
   * are not compared (services.mayDifferFor).
   */
  get pagesCompared(): number {
    return this.compared;
  }

  /** Domain `id`'s machine now (for onRestart's inspection). */
  machineOf(id: number): Machine {
    return this.domains[id].machine;
  }

  /** Every domain's machine now (a restarted one's last generation), by domid: the caller's to give back once it has read the outcome. */
  machines(): Machine[] {
    return this.domains.map((d) => d.machine);
  }

  /** A fresh machine for `d` from its ELF, started at global cycle `at`. */
  private boot(d: Domain, at: number): void {
    d.device = new DomainDevice(d.id, this.services);
    const base = d.makeOptions(d.rewrite);
    const { machine } = buildMachine(d.rewrite.image, {
      ...base,
      disk: d.disk,
      devices: [d.device],
      onOutput: (t) => {
        d.consoleText += t;
        this.options.onOutput?.(d.id, t);
      },
    });
    machine.externalEvents = true;
    const monitor = machine.monitor as Partial<WedgeMonitor> | undefined;
    if (monitor && "domainCalls" in monitor) {
      monitor.domainCalls = d.device;
      d.device.edgeEvents = true; // the monitor calls upcall() when it delivers line 4
    }
    d.machine = machine;
    d.offset = at;
    d.result = undefined;
  }

  /** Runs every domain to the end: see the file comment for the rules. */
  run(): HostOutcome {
    while (!this.step());
    return this.outcome();
  }

  /**
   * run, with `between` awaited each time global time has advanced by
   * `slice` cycles (at a window's end: a multiple of the window). Pausing
   * there changes nothing, so a run `between` never stops is run's exactly.
   * When `between` gives a reason (the user's Ctrl-C), every domain still
   * running stops there — reason "interrupted", status 130 — with the
   * diagnosis of where it was.
   */
  async runSliced(between: BetweenSlices, slice = SLICE_CYCLES): Promise<HostOutcome> {
    let next = this.now + slice;
    while (!this.step()) {
      if (this.now < next) continue;
      next = this.now + slice;
      const why = await between();
      if (why === undefined) continue;
      for (const d of this.domains) {
        if (!d.alive) continue;
        stopInterrupted(d.machine, why, d.clock);
        d.result = d.machine.outcome;
        this.over(d);
      }
      break;
    }
    return this.outcome();
  }

  /** One window: every live domain runs to its end, then events, the watchdog and injections. True when the run is over. */
  private step(): boolean {
    const W = this.window;
    const end = this.now + W;
    for (const d of this.domains) {
      if (!d.alive) continue;
      const m = d.machine;
      const ended = m.runUntil(end - d.offset, this.maxCycles - d.offset);
      this.syncShared(d);
      if (ended) this.ended(d, m.outcome!, d.clock);
    }
    this.services.deliver(end);
    this.now = end;
    for (const d of this.domains) {
      if (this.services.sent[d.id] === d.sentSeen) continue;
      d.sentSeen = this.services.sent[d.id];
      if (d.firstSend < 0) d.firstSend = end;
      d.lastSend = end;
    }
    this.checkWatchdog();
    this.inject();
    // The run waits for the guests that are not services; with only services, for all of them.
    const waitedFor = this.domains.some((d) => d.keepsRunAlive) ? this.domains.filter((d) => d.keepsRunAlive) : this.domains;
    if (waitedFor.every((d) => !d.alive)) return true;
    if (this.deadlocked()) {
      for (const d of this.domains) {
        if (!d.alive) continue;
        d.machine.stop("hlt-deadlock", "every guest is halted waiting for another, and no event can come");
        d.result = d.machine.outcome;
        this.over(d);
      }
      return true;
    }
    return false;
  }

  /** A domain's machine ended: a driver that did not power off cleanly is restarted. */
  private ended(d: Domain, r: RunResult, at: number): void {
    // A restarted machine's own clock starts at 0: the user's --max-cycles and the cycle it stopped at are global.
    if (r.kind === "stopped" && r.reason === "max-cycles" && d.offset > 0) {
      r = { ...r, message: `stopped after ${Math.floor(at)} cycles (--max-cycles ${this.maxCycles}; generation ${d.generation} started at cycle ${d.offset})` };
    }
    d.result = r;
    const clean = r.kind === "poweroff" && r.exitCode === 0;
    // --max-cycles is the end of the run for every domain, drivers too.
    const budget = r.kind === "stopped" && r.reason === "max-cycles";
    if (d.role === "driver" && !clean && !budget) {
      if (d.restarts.length < this.maxRestarts) this.restart(d, at, r.kind === "poweroff" ? `powered off with code ${r.exitCode}` : r.message);
      else this.staysDown(d);
    } else this.over(d);
  }

  /** A driver that ended once more after its last allowed restart: its ending says why it is not restarted. */
  private staysDown(d: Domain): void {
    d.staysDown = true;
    const r = d.result;
    if (r?.kind === "stopped") d.result = { ...r, message: `${r.message}; restarted ${d.restarts.length} times already, it stays down` };
    this.over(d);
  }

  /**
   * `d` has ended for good (any role: a guest, a service, a driver that stays
   * down): it is torn down as a restarted driver is, as a hypervisor destroys a
   * dead domain — its mappings of peers' grants end (they can revoke them), its
   * grants end (whoever mapped one keeps a private copy), its event ports are
   * freed (a peer's port bound to it is unbound: EVT_SEND refused), the
   * publications it left waiting are dropped (docs/driver-vms.md, "When a guest ends").
   */
  private over(d: Domain): void {
    this.services.tearDown(d.id);
  }

  private restart(d: Domain, at: number, reason: string): void {
    d.executedBefore += d.machine.executedCycles(d.machine.cycles);
    d.machine.console.flush();
    const rec: RestartRecord = { at, reason, generation: d.generation + 1 };
    this.options.onRestart?.(d.id, rec, this);
    this.services.tearDown(d.id);
    // The old machine's RAM goes back here, so the new one below takes its buffer (PhysicalMemory.recycle; zeroed: no
    // simulated result changes). Ownership: boot made it for this domain and nothing else holds it — its ending,
    // diagnosis and restart record are strings and numbers taken above, onRestart read its memory before this, and
    // tearDown, the last to touch it (the tracked frames' TLB tags, in the buffer's state region), is done.
    d.machine.memory.recycle();
    d.generation++;
    d.restarts.push(rec);
    d.awaitingAccept = rec;
    this.boot(d, at);
    // Its clients learn it at once through their control port (and DEV_STATUS's new generation).
    for (const c of this.domains) {
      if (c === d || !c.alive) continue;
      if (Object.values(c.spec.uses ?? {}).includes(d.name)) this.services.raiseControl(c.id);
    }
  }

  /** Restart time: the first DEV_ACCEPT of a restarted domain's new generation (checked each window). */
  private noteAccepts(): void {
    for (const d of this.domains) {
      if (d.awaitingAccept && this.services.accepts[d.id] > 0) {
        // Measured at window granularity: the window in which the new generation accepted its first client.
        d.awaitingAccept.restartCycles = this.now - d.awaitingAccept.at;
        d.awaitingAccept = undefined;
      }
    }
  }

  private checkWatchdog(): void {
    this.noteAccepts();
    if (this.watchdog === 0) return;
    for (const d of this.domains) {
      if (!d.alive || d.role !== "driver") continue;
      const since = this.services.oldestPending(d.id);
      const limit = this.services.acknowledged[d.id] ? this.watchdog : BOOT_WATCHDOGS * this.watchdog;
      if (since <= this.now - limit) {
        d.machine.stop("monitor", `watchdog: an event pending unacknowledged for ${this.now - since} cycles (watchdog ${this.watchdog})`);
        d.result = d.machine.outcome;
        if (d.restarts.length < this.maxRestarts) this.restart(d, this.now, d.result!.kind === "stopped" ? d.result!.message : "watchdog");
        else this.staysDown(d);
      }
    }
  }

  /** The crash injections due by now, into domains still alive. */
  private inject(): void {
    while (this.crashes.length > 0 && this.crashes[0].at <= this.now) {
      const c = this.crashes[0];
      const d = this.domains.find((x) => x.name === c.domain)!;
      if (d.alive && !injectCrash(d.machine, c)) return; // pc not translatable now: the next window
      this.crashes.shift();
    }
  }

  /** Every live domain halted for good, no event in flight: nothing can ever wake one. */
  private deadlocked(): boolean {
    let any = false;
    for (const d of this.domains) {
      if (!d.alive) continue;
      any = true;
      if (!d.machine.waitingForever || this.services.incoming[d.id] !== 0) return false;
    }
    return any;
  }

  /**
   * After `d`'s turn: its writable shared pages reach the other side where
   * they differ; a read-only mapping it wrote is restored (and counted). A
   * destination that has become a page table the monitor write-protects is
   * never written: that sharing ends (the page keeps its contents).
   */
  private syncShared(d: Domain): void {
    // Only the pages one side may have written since the two were last the same: the others are.
    const pairs = this.services.mayDifferFor(d.id);
    for (const { grant, page } of pairs) {
      const granter = this.domains[grant.granter].machine;
      const grantee = this.domains[grant.grantee].machine;
      this.compared++;
      if (samePage(granter, grant.page, grantee, page)) continue;
      // The side whose turn it was wins, except that a read-only mapping's page is restored from the granter's.
      const restore = grant.grantee === d.id && grant.readOnly;
      const toGrantee = grant.granter === d.id || restore;
      const [to, toPage] = toGrantee ? [grantee, page] : [granter, grant.page];
      // A destination that has become a page table the monitor write-protects is never written: that sharing ends.
      if (to.mmu.monitorWatched[toPage >>> 12] !== 0) {
        this.services.call(grant.grantee, HC.GNT_UNMAP, page, 0, 0);
        continue;
      }
      if (toGrantee) copyPage(granter, grant.page, grantee, page);
      else copyPage(grantee, page, granter, grant.page);
      if (restore) this.readOnlyWrites++;
      else this.pageCopies++;
    }
    this.services.settled(pairs);
  }

  private outcome(): HostOutcome {
    for (const d of this.domains) d.machine.console.flush();
    const domains = this.domains.map((d): DomainOutcome => {
      const m = d.machine;
      return {
        id: d.id,
        name: d.name,
        role: d.role,
        result: d.result,
        stats: m.stats(),
        executedCycles: d.executedBefore + m.executedCycles(m.cycles),
        refused: Object.fromEntries(this.services.refusalsBy[d.id]),
        console: d.consoleText,
        generation: d.generation,
        restarts: d.restarts,
        staysDown: d.staysDown,
        cycles: d.clock,
        firstSend: d.firstSend,
        lastSend: d.lastSend,
      };
    });
    return {
      backend: this.backend.name,
      window: this.window,
      domains,
      cycles: this.now,
      exitCode: exitStatus(domains),
      ops: Object.fromEntries(this.services.ops),
      refused: Object.fromEntries(this.services.refusals),
      pageCopies: this.pageCopies,
      readOnlyWrites: this.readOnlyWrites,
    };
  }
}

/**
 * The run's exit status: the first domain (in order) whose machine stopped
 * without powering off and was not restarted (a crash 125, --max-cycles
 * 124, …); otherwise the power-off code of the first domain that is not a
 * service (not a driver, serving nothing) — or of domain 0 if all are.
 */
export function exitStatus(domains: readonly DomainOutcome[]): number {
  for (const d of domains) if (d.result && d.result.kind === "stopped") return d.result.exitCode;
  const first = domains.find((d) => d.role !== "driver") ?? domains[0];
  return first.result?.kind === "poweroff" ? first.result.exitCode : 0;
}

/** Small deterministic generator (mulberry32) for the injections' addresses and the restart campaign's choices. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Injects a crash into a machine between two runs: "wild-store" loads t0
 * with an address above the machine's RAM and makes the current
 * instruction `sw t0, 0(t0)`; "hang" makes the current instruction and the
 * first of the (virtual) interrupt vector branch-to-self, so the domain
 * loops and no interrupt gets it out. False when the pc cannot be
 * translated now (the caller tries again later).
 */
export function injectCrash(m: Machine, c: CrashInjection): boolean {
  // The frame the CPU fetches the pc from (Mmu.probeFetch), with supervisor rights (the host is not the guest: a
  // deprivileged kernel's pc is in supervisor-only pages, or in the in-place VMM's window while it blocks — a
  // mapping only the TLB has — where the wild store or the loop is just as fatal). Not the real paging registers:
  // under a shadow pager (hvm, trap) they are not the guest's, and a pc that is not identity-mapped names
  // another frame there.
  const pa = m.mmu.probeFetch(m.pc);
  if (typeof pa !== "number" || pa + 4 > m.memory.size) return false;
  if (c.kind === "wild-store") {
    const rnd = seededRandom(c.seed);
    const span = 0x8000_0000 - m.memory.size;
    const addr = (m.memory.size + Math.floor(rnd() * span)) & ~3;
    m.regs[REG.t0] = addr;
    m.memory.write32(pa, encodeInstruction("sw", { a: REG.t0, b: REG.t0, imm: 0 }));
    m.count("host:inject.wildStore");
    return true;
  }
  const loop = encodeInstruction("beq", { a: 0, b: 0, imm: 0 });
  m.memory.write32(pa, loop);
  const mon = m.monitor;
  const tvec = isMigratable(mon) ? mon.exportNeutral().cr[CR.tvec] : m.cr[CR.tvec];
  const tpa = m.mmu.probeFetch(tvec);
  if (typeof tpa === "number" && tpa + 4 <= m.memory.size) m.memory.write32(tpa, loop);
  m.count("host:inject.hang");
  return true;
}
