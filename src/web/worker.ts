// The playground's worker: the whole toolchain, in the browser, off the
// page's thread. Consumes Requests (protocol.ts) from main.ts; produces
// Replies. It calls the library's own functions — the build pipeline
// (compiler, annotator, assembler), the bundled kernel's recipe on bundled
// sources, the rewriter (prepareImage), the matrix (matrixCell, compareRuns),
// migration (migrate-guest.ts: stopAndCopy, liveMigrate), the machine and the disassembler —
// and keeps the built image and the stepping machine between requests. Nothing here re-implements them: it
// only turns their results into plain data for the page.

import { FIXTURES } from "previrt-web:fixtures";
import { UserError } from "../guest-isa/diagnostics.js";
import { disassembleInstruction } from "../guest-isa/disassembler.js";
import type { GuestView } from "../hypervisors/common/guest-memory.js";
import { buildVmm, WINDOW_BACKED, WINDOW_BACKED_BYTES } from "../hypervisors/common/window.js";
import { backends, checkCpuOptions, checkCpuValues, getBackend, prepareImage } from "../hypervisors/index.js";
import { compareRuns, cyclesOverReference, describeVerdict, describeEnding, isDivergence, matrixCell, type MatrixRun } from "../hypervisors/matrix.js";
import { cycleBreakdown, defaultCostModel } from "../machine/cost-model.js";
import { codeLine, guestRegistersApart, readCode, recentInstructions } from "../machine/diagnosis.js";
import { Machine } from "../machine/machine.js";
import { ACCESS, type Monitor } from "../machine/monitor.js";
import { programBuilder, sourceLine, type Built } from "./build-program.js";
import { BACKENDS, linkStart, programOf } from "./link.js";
import { migrateGuest } from "./migrate-guest.js";
import { stepMachine } from "./step-machine.js";
import { cycleLimit } from "./protocol.js";
import type { BackendSites, BuildReply, MigrateOptions, MigrateReply, Program, Reply, Request, RunOptions, RunRow, StepOptions, StepState } from "./protocol.js";

/** Single steps "run to site" takes at most before it gives up. */
const MAX_STEPS_TO = 5_000_000;

let built: Built | undefined;

interface Stepping {
  backend: string;
  machine: Machine;
  monitor?: Monitor;
  console: string;
  sites: { addr: number; label: string }[];
  window?: { name: string; addr: number }[];
  /** The CPU the page shows. */
  view: number;
  /** Where the machine stops (cycleLimit of the step's options). */
  maxCycles: number;
}

let stepping: Stepping | undefined;

const post = (r: Reply) => (self as unknown as { postMessage(m: unknown): void }).postMessage(r);
const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");

/** The build (build-program.ts), from the fixtures bundled as strings. */
const buildProgram = programBuilder(FIXTURES);

function build(program: Program): BuildReply {
  stepping = undefined;
  const result = buildProgram(program);
  built = result.built;
  return result.reply;
}

function requireBuilt(): Built {
  if (!built) throw new UserError("build the program first");
  return built;
}

function sites(): BackendSites[] {
  const b = requireBuilt();
  return [...backends.values()].map((backend) => {
    try {
      const rw = prepareImage(backend, b.image);
      const dis = (words: Uint32Array, addr: number) => [...words].map((w, i) => disassembleInstruction(w, addr + 4 * i));
      return {
        backend: backend.name,
        description: backend.description,
        counts: { ...rw.counts },
        stubs: rw.stubs.length,
        rows: rw.sites.map((s) => ({
          addr: s.record.addr,
          kind: s.kindName,
          length: s.record.length,
          strategy: s.strategy,
          source: `${s.record.file}:${s.record.line}: ${sourceLine(b.texts, s.record.file, s.record.line)}`,
          before: dis(s.before, s.record.addr),
          after: s.strategy === "stub" && s.stubAddr !== undefined ? [...dis(s.after, s.record.addr), `→ stub at ${hex(s.stubAddr)}`] : dis(s.after, s.record.addr),
        })),
      };
    } catch (e) {
      return { backend: backend.name, description: backend.description, counts: {}, stubs: 0, rows: [], error: (e as Error).message };
    }
  });
}

function runRow(run: MatrixRun, reference: MatrixRun | undefined): RunRow {
  const verdict = reference ? compareRuns(reference, run) : ({ kind: "reference" } as const);
  const e = run.stats.events;
  return {
    backend: run.backend,
    description: getBackend(run.backend).description,
    verdict: describeVerdict(verdict),
    divergent: isDivergence(verdict) && verdict.kind !== "unfinished",
    expected: verdict.kind === "diverged" ? verdict.expected : verdict.kind === "ended-differently" ? verdict.expected : undefined,
    actual: verdict.kind === "diverged" ? verdict.actual : verdict.kind === "ended-differently" ? verdict.actual : undefined,
    ending: describeEnding(run.result),
    endingShort: run.result.kind === "poweroff" ? `exit ${run.result.exitCode}` : run.result.reason,
    ...(run.result.kind === "stopped" ? { diagnosis: `${run.result.message}\n${run.result.diagnosis}`, atLimit: run.result.reason === "max-cycles" } : {}),
    console: run.console,
    cycles: run.stats.cycles,
    instructions: run.stats.instructions,
    overhead: reference ? cyclesOverReference(run.stats.cycles, reference.stats.cycles) : 1,
    exits: e.vmExit ?? 0,
    hypercalls: e.hypercall ?? 0,
    ipcs: e.ipc ?? 0,
    traps: e.exceptionEntry ?? 0,
    sites: { ...run.sites },
    breakdown: cycleBreakdown(run.stats.cycles, run.stats.events, run.stats.counts, defaultCostModel()),
    seconds: run.seconds,
    perCpu: run.stats.perCpu?.map((c) => ({ cycles: c.cycles, instructions: c.instructions, idle: c.idleCycles, descheduled: c.descheduledCycles })),
    protection:
      run.stats.counts["protection.checks"] !== undefined
        ? { checks: run.stats.counts["protection.checks"], plbMisses: run.stats.counts["protection.plbMisses"] ?? 0, extraRefs: run.stats.counts["protection.extraRefs"] ?? 0 }
        : undefined,
  };
}

/**
 * The matrix, one back end at a time (the first is the reference), each row
 * posted as it finishes: runMatrix's own loop (matrixCell, then the verdict
 * against the first run) with the CLI's options `--cpus`, `--pcpus`,
 * `--no-protect`. The library refuses `pcpus` on bare, which has one physical
 * CPU per CPU: there bare runs without it (still the reference) and its row
 * carries the library's refusal as a note.
 */
function runMatrixRows(names: readonly string[], o: RunOptions, onRow: (row: RunRow, index: number) => void): { rows: RunRow[]; ms: number } {
  const b = requireBuilt();
  checkCpuValues({ cpus: o.cpus, pcpus: o.pcpus });
  const started = performance.now();
  const runs: MatrixRun[] = [];
  const rows: RunRow[] = [];
  for (const name of names) {
    let pcpus = o.pcpus;
    let note: string | undefined;
    try {
      checkCpuOptions(getBackend(name), { cpus: o.cpus, pcpus });
    } catch (e) {
      if (!(e instanceof UserError) || pcpus === undefined) throw e;
      note = `${e.message}: ${name} ran ${o.cpus} CPUs on ${o.cpus} physical CPUs`;
      pcpus = undefined;
    }
    // Only what differs from the defaults, as the CLI passes only the options given.
    const options = { maxCycles: cycleLimit(o), ...(o.cpus !== 1 ? { cpus: o.cpus } : {}), ...(pcpus !== undefined ? { pcpus } : {}), ...(o.protect ? {} : { protect: false }) };
    const run = matrixCell({ image: b.image, backend: name, options, disk: b.disk?.() });
    runs.push(run);
    const row = { ...runRow(run, runs.length > 1 ? runs[0] : undefined), ...(note ? { note } : {}) };
    rows.push(row);
    onRow(row, rows.length - 1);
  }
  return { rows, ms: performance.now() - started };
}

// ------------------------------------------------------------------ the link's program, at load

/**
 * What index.html asked for as it started the worker (the page's link): the
 * build and, with `run=1`, the matrix, done while the page's own script
 * loads. The page's first requests for the same program and options are
 * answered from it, once (results are a function of program and options, so
 * they are the ones a new build and run would give); anything else drops it.
 */
let early: { buildKey: string; reply: BuildReply; built?: Built; runKey?: string; run?: { rows: RunRow[]; ms: number } } | undefined;

const runKey = (names: readonly string[], o: RunOptions) => JSON.stringify([names, o]);

function startEarly(query: string, hash = ""): void {
  const link = linkStart(query, hash);
  if (link.damaged) return;
  const program = programOf(link.sample, link.text);
  const reply = build(program);
  early = { buildKey: JSON.stringify(program), reply, built };
  if (reply.ok && link.runMatrix) {
    early.runKey = runKey(BACKENDS, link.options);
    early.run = runMatrixRows(BACKENDS, link.options, () => {});
  }
}

function buildOrEarly(program: Program): BuildReply {
  if (early && early.buildKey === JSON.stringify(program)) {
    built = early.built;
    stepping = undefined;
    const reply = early.reply;
    early = early.run ? { ...early, buildKey: "" } : undefined; // the run may still be asked for
    return reply;
  }
  early = undefined;
  return build(program);
}

function runOrEarly(id: number, names: readonly string[], o: RunOptions): void {
  const done = early?.run && early.runKey === runKey(names, o) && built === early.built ? early.run : undefined;
  early = undefined;
  // Rows as they finish for a run that takes time; a finished one goes in one message (one render, not one per row).
  const result = done ?? runMatrixRows(names, o, (row, index) => post({ id, op: "run-row", row, index, total: names.length }));
  post({ id, op: "run", rows: result.rows, ms: result.ms });
}

// ------------------------------------------------------------------ stepping

function stepStart(name: string, o: StepOptions): void {
  const b = requireBuilt();
  const backend = getBackend(name);
  const session: Stepping = { backend: name, machine: undefined!, console: "", sites: [], view: 0, maxCycles: cycleLimit(o) };
  // The machine and monitor runElf builds for the matrix, on the interpreter (step-machine.ts): a step-run ends where the Run view's run does.
  const { machine, monitor, rewrite } = stepMachine(backend, b.image, o, b.disk?.(), (t) => (session.console += t));
  session.machine = machine;
  session.monitor = monitor;
  session.sites = rewrite.sites.map((s) => ({ addr: s.record.addr, label: `${hex(s.record.addr)} ${s.kindName} (${s.strategy}) ${s.record.file}:${s.record.line}` }));
  if (backend.inPlaceVmm) {
    // Its VMM's data in the window (common/window.ts assembles NAME/vmm.s.ts).
    const vmm = buildVmm(name);
    const data = vmm.image.sections.filter((s) => (s.flags & 1) !== 0 && s.addr >= WINDOW_BACKED); // SHF_WRITE: the window's data
    const inData = (a: number) => data.some((s) => a >= s.addr && a < s.addr + (s.type === 8 ? s.size : s.data.length));
    session.window = Object.entries(vmm.symbols)
      .filter(([, a]) => inData(a))
      .sort((x, y) => x[1] - y[1])
      .map(([n, a]) => ({ name: n, addr: a }));
  }
  stepping = session;
}

function requireStepping(): Stepping {
  if (!stepping) throw new UserError("start stepping first");
  return stepping;
}

/** The lowest CPU clock: a multiprocessor's epochs start from it (multiprocessor.ts runEpochs). */
function lowestClock(m: Machine): number {
  let low = Infinity;
  for (let n = 0; n < m.cpuCount; n++) low = Math.min(low, m.inCpu(n, () => m.cycles));
  return low;
}

/** Most epochs one multiprocessor step runs while no CPU makes progress (every CPU halted or descheduled, waiting for an event). */
const MAX_IDLE_EPOCHS = 1_000_000;

/** Whether some CPU has moved since `seen` (instructions retired, pc — an exception entry moves it without retiring —, run state); records the new values. */
function moved(m: Machine, seen: number[]): boolean {
  let changed = false;
  for (let n = 0; n < m.cpuCount; n++) {
    const now = [m.inCpu(n, () => m.cpu.instret), m.pcOf(n), ["stopped", "running", "halted"].indexOf(m.cpuState(n))];
    for (let k = 0; k < 3; k++) {
      if (seen[3 * n + k] !== now[k]) changed = true;
      seen[3 * n + k] = now[k];
    }
  }
  return changed;
}

/**
 * One step further: with one CPU one instruction boundary (an instruction, or
 * an exception or interrupt entry). With several, epochs of the machine's
 * schedule — every CPU runs up to the next multiple of the quantum, which is
 * where runUntil pauses a multiprocessor (pausing there changes nothing) —
 * until some CPU has moved: an epoch in which every CPU is past its end,
 * halted or stopped only moves clocks, and a step that shows nothing would
 * be no step.
 */
function stepOnce(s: Stepping): boolean {
  const m = s.machine;
  if (m.outcome) return false;
  if (m.cpuCount === 1) {
    m.runUntil(Math.floor(m.cycles) + 1, s.maxCycles);
    return !m.outcome;
  }
  const seen: number[] = [];
  moved(m, seen);
  for (let i = 0; i < MAX_IDLE_EPOCHS && !m.outcome; i++) {
    m.runUntil(Math.floor(lowestClock(m) / m.quantum) * m.quantum + m.quantum, s.maxCycles);
    if (moved(m, seen)) break;
  }
  return !m.outcome;
}

/** The first CPU whose pc is `addr` (checked between steps), or -1. */
function cpuAt(m: Machine, addr: number): number {
  for (let n = 0; n < m.cpuCount; n++) if (m.cpuState(n) !== "stopped" && m.pcOf(n) >>> 0 === addr >>> 0) return n;
  return -1;
}

/**
 * A line of the listing around pc: the word as the CPU would fetch it. Read
 * as the diagnosis reads an executed instruction (diagnosis.ts readCode:
 * the TLB entry the CPU holds, else the page tables); an address of the
 * soft-layer window (xen, l4) that neither maps — the monitor maps it on the
 * fetch — through the monitor's view (wedge-paging.ts guestPhysical, which
 * changes nothing; elsewhere a monitor's view may fill its shadow, which
 * would change the run).
 */
function codeAround(m: Machine, va: number, windowView?: GuestView): string {
  let word = readCode(m, va);
  if (word === undefined && windowView && va >>> 0 >= WINDOW_BACKED && va >>> 0 < WINDOW_BACKED + WINDOW_BACKED_BYTES) {
    const pa = windowView.guestPhysical(va, ACCESS.FETCH, 4, false);
    if (typeof pa === "number" && (pa & 3) === 0 && m.memory.contains(pa, 4)) word = m.memory.i32[pa >>> 2];
  }
  return codeLine(va, word);
}

function stepState(note?: string): StepState {
  const s = requireStepping();
  const m = s.machine;
  const cpus = Array.from({ length: m.cpuCount }, (_, n) => m.inCpu(n, () => ({ state: m.cpuState(n), pc: m.pc, psr: m.psr, cycles: m.cycles, instructions: m.cpu.instret })));
  const view = Math.min(s.view, m.cpuCount - 1);
  const windowView = s.window && s.monitor ? (s.monitor as unknown as GuestView) : undefined;
  // Everything below in the viewed CPU's context: its registers, its TLB and page tables for the disassembly, its trace, its virtual CPU.
  return m.inCpu(view, () => {
    const state: StepState = {
      backend: s.backend,
      cpu: view,
      cpus,
      ...(m.cpuCount > 1 ? { quantum: m.quantum } : {}),
      ...(note ? { note } : {}),
      pc: m.pc,
      psr: m.psr,
      regs: Array.from(m.regs),
      cr: Array.from(m.cr),
      cycles: m.cycles,
      instructions: m.cpu.instret,
      // The last instructions exactly as the CLI's diagnosis lists them (the same reading and text).
      last: recentInstructions(m, m.pc, false).map((pc) => codeLine(pc, readCode(m, pc))),
      around: [-2, -1, 0, 1, 2, 3, 4].map((k) => (k === 0 ? "▶ " : "  ") + codeAround(m, m.pc + 4 * k, windowView)),
      console: s.console,
      ended: m.outcome ? describeEnding(m.outcome) : undefined,
      atLimit: m.outcome?.kind === "stopped" && m.outcome.reason === "max-cycles",
      sites: s.sites,
    };
    const v = guestRegistersApart(m);
    if (v) state.virtual = { psr: v.psr, cr: [...v.cr] };
    if (s.window && s.monitor) {
      const guest = s.monitor as unknown as GuestView;
      state.window = s.window.map(({ name, addr }) => {
        const pa = guest.guestPhysical(addr, ACCESS.LOAD, 4, false);
        return { name, addr, value: typeof pa === "number" ? m.memory.i32[pa >>> 2] : NaN };
      });
    }
    return state;
  });
}

// ------------------------------------------------------------------ migration

/** One move with the header's options (migrate-guest.ts), timed. */
function migrate(o: MigrateOptions): MigrateReply {
  const b = requireBuilt();
  const started = performance.now();
  return { ...migrateGuest(b.image, o, cycleLimit(o), b.disk), ms: performance.now() - started };
}

function handle(req: Request): void {
  switch (req.op) {
    case "early":
      return startEarly(req.query, req.hash);
    case "build":
      return post({ id: req.id, op: "build", build: buildOrEarly(req.program) });
    case "sites":
      return post({ id: req.id, op: "sites", sites: sites() });
    case "run":
      return runOrEarly(req.id, req.backends, req.options);
    case "migrate":
      return post({ id: req.id, op: "migrate", migrate: migrate(req.options) });
    case "step-start":
      stepStart(req.backend, req.options);
      return post({ id: req.id, op: "step", state: stepState() });
    case "step-view":
      requireStepping().view = req.cpu;
      return post({ id: req.id, op: "step", state: stepState() });
    case "step": {
      const s = requireStepping();
      for (let i = 0; i < req.count && stepOnce(s); i++);
      return post({ id: req.id, op: "step", state: stepState() });
    }
    case "step-to": {
      const s = requireStepping();
      const m = s.machine;
      let i = 0;
      for (; i < MAX_STEPS_TO && stepOnce(s) && cpuAt(m, req.addr) < 0; i++);
      const cpu = cpuAt(m, req.addr);
      if (cpu >= 0) s.view = cpu; // show the CPU that got there
      const unit = m.cpuCount > 1 ? "epoch" : "instruction";
      const note = cpu >= 0 ? undefined : m.outcome ? `the run ended before any CPU stood on ${hex(req.addr)}` : `no CPU stood on ${hex(req.addr)} after ${i.toLocaleString("en-US")} ${unit}s${m.cpuCount > 1 ? " (CPUs are looked at between epochs: a smaller quantum looks more often)" : ""}`;
      return post({ id: req.id, op: "step", state: stepState(note) });
    }
    case "step-run": {
      const s = requireStepping();
      if (!s.machine.outcome) s.machine.run(s.maxCycles);
      return post({ id: req.id, op: "step", state: stepState() });
    }
  }
}

self.onmessage = (event: MessageEvent<Request>) => {
  try {
    handle(event.data);
  } catch (e) {
    post({ id: event.data.id, op: "error", message: e instanceof UserError ? e.message : `internal error: ${(e as Error)?.stack ?? e}` });
  }
};
