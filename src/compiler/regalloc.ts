// Register allocation for `previrt cc`: a simple, predictable scheme (no
// graph colouring), good enough to stay within 2× of hand-written assembly.
//
// Consumes the locals of one function (with use weights: uses × 8^loop
// depth) and whether the function calls anything; produces each local's home
// (a register or a frame slot), the callee-saved registers the prologue must
// save, and the pool of expression temporaries. lower/codegen.ts then
// allocates temporaries from TempPool while it walks expressions, spilling to
// frame slots when they run out and around calls.
//
//   leaf function:      parameters stay in a0–a3; other locals take the free
//                       a-registers, then t3/t4, then s0–s2 (saved), then slots;
//                       temporaries are the remaining t-registers.
//   non-leaf function:  locals (parameters included) take s0–s2 by weight,
//                       the rest live in frame slots; temporaries are t0–t4.
//
// k0 is never allocated (docs/design.md §2: reserved for the soft layer).

export type Home = { kind: "reg"; reg: string } | { kind: "slot"; index: number };

export interface LocalInfo {
  name: string;
  /** Uses weighted by loop depth. */
  weight: number;
  /** Parameter index, or -1. */
  param: number;
  home?: Home;
}

export interface Allocation {
  /** Callee-saved registers used for locals (saved in the prologue). */
  saved: string[];
  /** Frame slots used by locals. */
  slots: number;
  /** Registers available as expression temporaries. */
  temps: string[];
}

const ARG_REGS = ["a0", "a1", "a2", "a3"] as const;
const SAVED_REGS = ["s0", "s1", "s2"] as const;
const TEMP_REGS = ["t0", "t1", "t2", "t3", "t4"] as const;
/** A leaf keeps at least these as temporaries. */
const LEAF_MIN_TEMPS = 3;

export function assignHomes(locals: LocalInfo[], opts: { leaf: boolean; keepTemps: boolean }): Allocation {
  const saved: string[] = [];
  let slots = 0;
  const temps: string[] = [...TEMP_REGS];
  const byWeight = [...locals].sort((a, b) => b.weight - a.weight || a.param - b.param);

  if (opts.leaf) {
    const free: string[] = ARG_REGS.filter((_, i) => !locals.some((l) => l.param === i));
    for (const l of locals) if (l.param >= 0) l.home = { kind: "reg", reg: ARG_REGS[l.param] };
    const extraTemps = opts.keepTemps ? [] : TEMP_REGS.slice(LEAF_MIN_TEMPS).reverse();
    for (const l of byWeight) {
      if (l.home) continue;
      const reg = free.shift() ?? extraTemps.shift() ?? SAVED_REGS[saved.length];
      if (reg === undefined) {
        l.home = { kind: "slot", index: slots++ };
        continue;
      }
      if ((SAVED_REGS as readonly string[]).includes(reg)) saved.push(reg);
      if ((TEMP_REGS as readonly string[]).includes(reg)) temps.splice(temps.indexOf(reg), 1);
      l.home = { kind: "reg", reg };
    }
    return { saved, slots, temps };
  }

  for (const l of byWeight) {
    const reg = SAVED_REGS[saved.length];
    if (reg !== undefined && l.weight > 0) {
      saved.push(reg);
      l.home = { kind: "reg", reg };
    } else {
      l.home = { kind: "slot", index: slots++ };
    }
  }
  return { saved, slots, temps };
}

/** The expression temporaries of one function. */
export class TempPool {
  private readonly free: string[];
  private readonly busy = new Set<string>();

  constructor(private readonly all: readonly string[]) {
    this.free = [...all];
  }

  alloc(): string | undefined {
    const r = this.free.shift();
    if (r !== undefined) this.busy.add(r);
    return r;
  }

  release(reg: string): void {
    if (!this.busy.delete(reg)) return;
    // Keep the pool ordered so allocation is deterministic (t0 first).
    this.free.push(reg);
    this.free.sort((a, b) => this.all.indexOf(a) - this.all.indexOf(b));
  }

  /** Marks a register busy again (after it was restored around a call). */
  take(reg: string): void {
    const i = this.free.indexOf(reg);
    if (i >= 0) this.free.splice(i, 1);
    this.busy.add(reg);
  }

  isTemp(reg: string): boolean {
    return this.all.includes(reg);
  }

  freeCount(): number {
    return this.free.length;
  }

  live(): string[] {
    return [...this.busy].sort((a, b) => this.all.indexOf(a) - this.all.indexOf(b));
  }
}
