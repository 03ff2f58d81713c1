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
// Ticket locks (the `ticket` site: `amoadd rd, rd, off(rs1)` takes a ticket
// from the next-ticket word; now-serving is the word after it; the guest's
// wait loop reads now-serving with an atomic read, `amoadd rd, zero`, so
// every check reaches the same hook):
//   - taking a ticket is an attempt; it acquires at once when now-serving
//     equals the ticket, else the CPU waits for that ticket on that word;
//   - every atomic read of that now-serving word by the waiting CPU is an
//     attempt; the one that reads its ticket acquires (the wait ends);
//   - the CPU holds the ticket lock while now-serving still equals its ticket;
//   - a *next-waiter preemption* (`lockWaiterPreemptions`) is a vCPU that ran
//     in one epoch and is descheduled in the next while it waits on a ticket
//     lock whose turn has come or comes next (ticket ≤ now-serving + 1): the
//     lock is handed to it, or will be, and everyone behind it waits too.
// Everything is a function of the simulated state: the same for every
// engine, and deterministic.

/** SpinAccounting's state as plain data (MachineState.spin): per-CPU arrays, and the owner maps as (word, value) pairs. */
export interface SpinState {
  waitStart: Float64Array;
  ranLast: Uint8Array;
  ticketWord: Int32Array;
  ticketOf: Int32Array;
  /** Lock word → CPU, flattened: word, cpu, word, cpu, … */
  owner: Int32Array;
  /** Now-serving word → ticket, flattened the same way. */
  ownerTicket: Int32Array;
  /** spinCycles, lockHolderPreemptions, lockWaiterPreemptions, ticketTakes, attempts, acquisitions. */
  counters: number[];
}

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
  /** Addresses of ticket-taking amoadds (`ticket` sites, or a cure's stub copies of them). */
  private readonly ticketSites = new Set<number>();
  /** Per CPU: the now-serving word (RAM word index) it waits on, or -1; and its ticket. */
  private readonly ticketWord: Int32Array;
  private readonly ticketOf: Int32Array;
  /** Now-serving word → the ticket its holder (`owner`) took. */
  private readonly ownerTicket = new Map<number, number>();
  spinCycles = 0;
  lockHolderPreemptions = 0;
  lockWaiterPreemptions = 0;
  /** Tickets taken (ticket locks): every take is seen, at its site or in a cure's template. */
  ticketTakes = 0;
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
    this.ticketWord = new Int32Array(cpus).fill(-1);
    this.ticketOf = new Int32Array(cpus);
  }

  /** Whether any lock site is known (the machine installs the CPU hook only then). */
  get active(): boolean {
    return this.sites.size > 0 || this.ticketSites.size > 0 || this.rangeHi > this.rangeLo;
  }

  /** Addresses of the amoadds that take a ticket (ticket sites, or where a cure's stub moved them). */
  addTicketSites(addresses: Iterable<number>): void {
    for (const a of addresses) this.ticketSites.add(a >>> 0);
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
    if (this.ticketWord[cpu] === word && value === old) {
      // An atomic read of the now-serving word this CPU waits on: a check of its turn.
      this.attempts++;
      if (old === this.ticketOf[cpu]) this.acquired(cpu, word, busy, old);
      return;
    }
    if (this.ticketSites.size > 0 && this.ticketSites.has(pc >>> 0)) {
      this.takeTicket(cpu, word + 1, old, busy);
      return;
    }
    if (value === 0 || !this.isAttemptPc(pc)) return; // a release (swap of 0) or not a lock
    this.attempt(cpu, word, old === 0, busy);
  }

  /** `cpu` took ticket `ticket` of the lock whose now-serving word is `serving`. */
  private takeTicket(cpu: number, serving: number, ticket: number, busy: number): void {
    this.attempts++;
    this.ticketTakes++;
    if (this.words[serving] === ticket) {
      this.acquired(cpu, serving, busy, ticket);
      return;
    }
    if (this.waitStart[cpu] < 0) this.waitStart[cpu] = busy;
    this.ticketWord[cpu] = serving;
    this.ticketOf[cpu] = ticket;
  }

  private acquired(cpu: number, word: number, busy: number, ticket: number): void {
    this.acquisitions++;
    this.ticketWord[cpu] = -1;
    if (this.waitStart[cpu] >= 0) {
      this.spinCycles += busy - this.waitStart[cpu];
      this.waitStart[cpu] = -1;
    }
    this.owner.set(word, cpu);
    this.ownerTicket.set(word, ticket);
    this.onAcquire?.(cpu);
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
    this.ownerTicket.delete(word);
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
    for (const [word, c] of this.owner) {
      if (c !== cpu) continue;
      const t = this.ownerTicket.get(word);
      if (t === undefined ? this.words[word] !== 0 : this.words[word] === t) return true;
    }
    return false;
  }

  /** Whether `cpu` waits on a ticket lock whose turn has come or comes next. */
  private nextInLine(cpu: number): boolean {
    const w = this.ticketWord[cpu];
    return w >= 0 && ((this.ticketOf[cpu] - this.words[w]) | 0) <= 1;
  }

  /** The machine's scheduling decision for `cpu` in an epoch: counts a preemption of a lock holder. */
  scheduled(cpu: number, runs: boolean, charged = 0): void {
    if (this.waitStart[cpu] >= 0) this.waitStart[cpu] += charged; // a vCPU switch is not spinning
    if (!runs && this.ranLast[cpu] === 1 && this.holdsLock(cpu)) this.lockHolderPreemptions++;
    if (!runs && this.ranLast[cpu] === 1 && this.nextInLine(cpu)) this.lockWaiterPreemptions++;
    this.ranLast[cpu] = runs ? 1 : 0;
  }

  /** The accounting's state for a snapshot (Machine.saveState): a resumed run counts on as the uninterrupted one. */
  save(): SpinState {
    return {
      waitStart: this.waitStart.slice(),
      ranLast: this.ranLast.slice(),
      ticketWord: this.ticketWord.slice(),
      ticketOf: this.ticketOf.slice(),
      owner: Int32Array.from([...this.owner].flat()),
      ownerTicket: Int32Array.from([...this.ownerTicket].flat()),
      counters: [this.spinCycles, this.lockHolderPreemptions, this.lockWaiterPreemptions, this.ticketTakes, this.attempts, this.acquisitions],
    };
  }

  /** Loads what save() returned (checked by the snapshot's validator: one entry per CPU, pairs of words). */
  restore(s: SpinState): void {
    this.waitStart.set(s.waitStart);
    this.ranLast.set(s.ranLast);
    this.ticketWord.set(s.ticketWord);
    this.ticketOf.set(s.ticketOf);
    this.owner.clear();
    for (let i = 0; i + 1 < s.owner.length; i += 2) this.owner.set(s.owner[i], s.owner[i + 1]);
    this.ownerTicket.clear();
    for (let i = 0; i + 1 < s.ownerTicket.length; i += 2) this.ownerTicket.set(s.ownerTicket[i], s.ownerTicket[i + 1]);
    [this.spinCycles, this.lockHolderPreemptions, this.lockWaiterPreemptions, this.ticketTakes, this.attempts, this.acquisitions] = s.counters;
  }
}
