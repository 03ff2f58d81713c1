// One guest program under both engines, for the JIT's differential tests
// (jit.test.ts, jit-loops.test.ts): builds a machine per engine (the JIT
// translating at first reach, jitThreshold 1, the harshest setting), runs the
// program and gathers everything the guest or a user can observe — result and
// diagnosis, registers, pc, psr, control registers, the trace ring, every
// counter, a memory range, and what a pause hook was given — plus the host's
// counters. `same` asserts the two observations equal. `runAtDefaultThreshold`
// runs a program with the cache's own hotness rules instead.
import { expect } from "vitest";
import { loadImage } from "../../src/machine/loader.js";
import { Machine, type Engine, type MachineOptions } from "../../src/machine/machine.js";
import { noteInterpreted, START_INSNS } from "../../src/machine/jit/cache.js";
import type { Monitor } from "../../src/machine/monitor.js";
import { image, type DataBlock, type Item } from "./program.js";
import { DATA_PA, DATA_PAGES } from "./random-program.js";

export interface EngineSetup {
  items: Item[];
  data?: DataBlock[];
  options?: MachineOptions;
  monitor?: (m: Machine) => Monitor;
  maxCycles?: number;
  /** Called on the new machine before the image is loaded (protection domains, …). */
  prepare?: (m: Machine) => void;
  /** Installs a pause hook (the machine's, as spinlock cures do) that records what it is given and asks an exit every N calls. */
  pauseEvery?: number;
  /** The physical byte range observed (default: the random programs' data pages). */
  memory?: [number, number];
}

export function runOn(engine: Engine, s: EngineSetup) {
  const m = new Machine({ ramSize: 4 * 1024 * 1024, ...s.options, engine, jitThreshold: 1 });
  if (s.monitor) m.attach(s.monitor(m));
  s.prepare?.(m);
  const pauses: number[] = [];
  if (s.pauseEvery !== undefined) {
    const every = s.pauseEvery;
    m.cpu.pauseHook = (pc, cycles) => {
      pauses.push(pc, cycles);
      return (pauses.length / 2) % every === 0;
    };
  }
  loadImage(m, image(s.items, 0x1000, s.data ?? []));
  const result = m.run(s.maxCycles ?? 50_000_000);
  const [from, to] = s.memory ?? [DATA_PA, DATA_PA + DATA_PAGES * 4096];
  return {
    observed: {
      result,
      regs: Array.from(m.regs),
      pc: m.pc,
      psr: m.psr,
      cr: Array.from(m.cr),
      trace: Array.from(m.cpu.trace),
      stats: m.stats(),
      pauses,
      data: Array.from(m.memory.i32.subarray(from >>> 2, to >>> 2)),
    },
    host: m.hostStats(),
  };
}

/** Runs under both engines, expects identical observations and that the JIT really ran translations. */
export function same(s: EngineSetup) {
  const interp = runOn("interp", s);
  const jit = runOn("jit", s);
  expect(jit.host.engine).toBe("jit");
  expect(jit.host.jit!.dispatches).toBeGreaterThan(0);
  expect(jit.observed).toEqual(interp.observed);
  return { ...jit.observed, host: jit.host };
}

/**
 * One program on a machine at the default translation threshold (the cache's
 * own hotness rules, not jitThreshold 1): for the tests of what a first run,
 * a second machine or a hot page does. What a user can observe, the host's
 * counters, and the machine. The process's start budget (cache.ts
 * START_INSNS) counts as spent, as after a process's first runs, so those
 * rules decide alone (`startSpent: false` leaves it; jit-start.test.ts tests it).
 */
export function runAtDefaultThreshold(engine: Engine, items: Item[], maxCycles = 50_000_000, { startSpent = true } = {}) {
  if (startSpent) noteInterpreted(START_INSNS);
  const m = new Machine({ ramSize: 4 * 1024 * 1024, engine });
  loadImage(m, image(items));
  const result = m.run(maxCycles);
  return { observed: { result, regs: Array.from(m.regs), pc: m.cpu.pc, trace: Array.from(m.cpu.trace), stats: m.stats() }, host: m.hostStats(), machine: m };
}
