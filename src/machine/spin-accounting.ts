// Spin accounting for lock-holder preemption (docs/smp-virtualization.md):
// how many cycles the CPUs spend in lock-acquire loops (`spinCycles`), and
// how often a vCPU loses its physical CPU while it holds a lock
// (`lockHolderPreemptions`).
//
// Consumes: the addresses of the image's `lock` sites (the rewriter's site
// table: the compiler's spinLock emits one annotated `amoswap` per acquire
// loop, so the loops are known without guessing), and every `amoswap` the
// CPU executes (the interpreter and the JIT call `Cpu.amoHook`, which only
// a machine with lock sites installs — atomics are rare, and the hook costs
// nothing elsewhere). A back end whose cure moves the attempt out of the
// site (into a stub of its soft-layer window, or into the hypervisor) adds
// that range, or reports the attempt itself (`attempt`).
// Produces: the counters `spinCycles` and `lockHolderPreemptions` (and
// `lockAttempts`, `lockAcquisitions`), read by machine.stats().
//
// Definitions (what the single-step reference in
// test/smp-virtualization/spin-reference.test.ts recomputes independently):
//   - an *attempt* is an amoswap at a lock site (or a cure's attempt) that
//     writes a non-zero value; it *acquires* when the old value was 0;
//   - a CPU *waits* from its first failed attempt on a lock until its next
//     acquiring attempt; spinCycles adds, per wait, the CPU's executed
//     cycles in between: its clock's advance less the cycles it was halted
//     (idle) or descheduled, or was charged a vCPU switch by the hypervisor's
//     scheduler. So a waiter that blocks in the hypervisor (a
//     para-virtual spinlock) or loses its physical CPU stops spinning;
//   - the lock a CPU acquired is *held* by it while its word is non-zero
//     and no other CPU has acquired it since (a release is a store of 0 —
//     the unlock site — seen lazily, so the store needs no hook);
//   - a *lock-holder preemption* is a vCPU that ran in one epoch of the
//     interleaving and is descheduled in the next while it holds a lock.
// Everything is a function of the simulated state: the same for every
// engine, and deterministic.

export class SpinAccounting {
  /** Lock-site addresses (amoswap words) and extra [lo, hi) ranges whose amoswaps are attempts. */
  private readonly sites = new Set<number>();
  private rangeLo = 0;
  private rangeHi = 0;
  /** Per CPU: executed cycles at its first failed attempt, or -1 while it does not wait. */
  private readonly waitStart: Float64Array;
  /** Lock word (index into RAM's words) → the CPU that last acquired it. */
  private readonly owner = new Map<number, number>();
  /** Per CPU: it held a physical CPU in the last epoch it was asked about. */
  private readonly ranLast: Uint8Array;
  spinCycles = 0;
  lockHolderPreemptions = 0;
  attempts = 0;
  acquisitions = 0;
  /** Called when a CPU acquires a lock (a cure's monitor forgets it as a waiter). */
  onAcquire: ((cpu: number) => void) | undefined;

  constructor(
    cpus: number,
    private readonly words: Int32Array,
  ) {
    this.waitStart = new Float64Array(cpus).fill(-1);
    this.ranLast = new Uint8Array(cpus).fill(1);
  }

  /** Whether any lock site is known (the machine installs the CPU hook only then). */
  get active(): boolean {
    return this.sites.size > 0 || this.rangeHi > this.rangeLo;
  }

  addSites(addresses: Iterable<number>): void {
    for (const a of addresses) this.sites.add(a >>> 0);
  }

  /** Amoswaps in [lo, hi) are attempts too (a cure's out-of-line stubs). */
  addRange(lo: number, hi: number): void {
    this.rangeLo = lo >>> 0;
    this.rangeHi = hi >>> 0;
  }

  isAttemptPc(pc: number): boolean {
    const u = pc >>> 0;
    return this.sites.has(u) || (u >= this.rangeLo && u < this.rangeHi);
  }

  /** An amoswap executed at `pc` on `cpu`: word index, old and new value, the CPU's executed cycles after it. */
  amo(cpu: number, pc: number, word: number, old: number, value: number, busy: number): void {
    if (value === 0 || !this.isAttemptPc(pc)) return; // a release (swap of 0) or not a lock
    this.attempt(cpu, word, old === 0, busy);
  }

  /** One attempt on the lock at RAM word `word`. */
  attempt(cpu: number, word: number, acquired: boolean, busy: number): void {
    this.attempts++;
    if (!acquired) {
      if (this.waitStart[cpu] < 0) this.waitStart[cpu] = busy;
      return;
    }
    this.acquisitions++;
    if (this.waitStart[cpu] >= 0) {
      this.spinCycles += busy - this.waitStart[cpu];
      this.waitStart[cpu] = -1;
    }
    this.owner.set(word, cpu);
    this.onAcquire?.(cpu);
  }

  /** spinCycles including the waits still open (a CPU spinning when the run ends), given each CPU's executed cycles now. */
  total(executed: (cpu: number) => number): number {
    let t = this.spinCycles;
    for (let c = 0; c < this.waitStart.length; c++) if (this.waitStart[c] >= 0) t += executed(c) - this.waitStart[c];
    return t;
  }

  /** Whether `cpu` holds a lock now. */
  holdsLock(cpu: number): boolean {
    for (const [word, c] of this.owner) if (c === cpu && this.words[word] !== 0) return true;
    return false;
  }

  /** The machine's scheduling decision for `cpu` in an epoch: counts a preemption of a lock holder. */
  scheduled(cpu: number, runs: boolean, charged = 0): void {
    if (this.waitStart[cpu] >= 0) this.waitStart[cpu] += charged; // a vCPU switch is not spinning
    if (!runs && this.ranLast[cpu] === 1 && this.holdsLock(cpu)) this.lockHolderPreemptions++;
    this.ranLast[cpu] = runs ? 1 : 0;
  }

  save(): Record<string, unknown> {
    return {
      waitStart: Array.from(this.waitStart),
      owner: [...this.owner],
      ranLast: Array.from(this.ranLast),
      spinCycles: this.spinCycles,
      lockHolderPreemptions: this.lockHolderPreemptions,
      attempts: this.attempts,
      acquisitions: this.acquisitions,
    };
  }
}
