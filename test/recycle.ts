// A finished run's RAM handed back for the next machine of the process
// (PhysicalMemory.recycle, src/machine/memory.ts: what `previrt bench` does
// between its runs). Every machine allocates 64 MiB; without recycling, V8
// collects garbage at nearly every run under that external memory pressure:
// 45 full collections for 48 kernel runs against 3, and ~40 % of the CPU
// time, in the files that run many guests. A recycled buffer is zeroed, so
// the next machine starts as a fresh one would: no simulated result changes.
//
// Recycling also keeps test/written-record.ts's check cheap: every snapshot
// and every recycle checks the written-chunk record over all of RAM, which on
// a fresh 64 MiB buffer maps its 16,384 pages first (~0.2–0.3 s), where a
// recycled buffer's are mapped already. So a test that makes machine after
// machine gives each one's RAM back once it has read what it compares.
//
// `released` returns the outcome without its machine, so a test cannot read
// the recycled machine by mistake (it would be a type error): take what the
// test needs of the machine first (registers, RAM words) and release after.

/** What recycling needs of a run's outcome. */
interface WithMachine {
  machine: { memory: { recycle(): void } };
}

/** The outcome without its machine, whose RAM goes back to the process for the next machine. */
export function released<T extends WithMachine>(out: T): Omit<T, "machine"> {
  const { machine, ...rest } = out;
  machine.memory.recycle();
  return rest;
}
