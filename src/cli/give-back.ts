// The last step of a CLI command that made a machine: its RAM goes back to
// the process (PhysicalMemory.recycle, src/machine/memory.ts) once the
// command has read all it reports of it. Consumes the machine and the
// command's ending (what reads it: the diagnosis, --stats, --json, the
// snapshot, the exit status); produces the ending's result. Used by run,
// resume, `run --snapshot-at`, migrate and `run --domains` (commands/; the
// last gives back each guest's machine). It matters where many
// commands run in one process, as the tests drive them: the next machine
// takes a buffer whose pages are mapped, so the tests' written-record check
// at a snapshot or a recycle maps no fresh 64 MiB buffer (test/recycle.ts).
// A recycled buffer is zeroed: no simulated result changes.

/** What giving a machine's RAM back needs of it. */
interface Recyclable {
  memory: { recycle(): void };
}

/**
 * `end()`, then the RAM of `machines` (one or several) back, whether `end`
 * returns or throws (an unwritable --json or --snapshot file): the caller
 * owns the machines, hands out nothing that refers to them, and `end` is the
 * last thing that reads them.
 */
export async function endThenGiveBack<T>(machines: Recyclable | readonly Recyclable[], end: () => T | Promise<T>): Promise<T> {
  try {
    return await end();
  } finally {
    for (const m of Array.isArray(machines) ? machines : [machines]) m.memory.recycle();
  }
}
