// Host-only write tracking: which of a chosen set of physical frames may
// have been written since the host last asked (docs/machine.md "Host-only
// write tracking"). The multi-guest host (src/hypervisors/domains) uses it
// to compare only the shared pages a window may have changed.
//
// Consumes the machine's memory and MMU; produces, on demand, the tracked
// frames written since the last call. Machine's trackWrites and
// takeTrackedWrites call these; the first store to a protected frame is
// caught in machine.ts (`watchedStore`).
//
// Like the dirty log (machine-snapshot.ts), a tracked frame is
// write-protected — it has no fast write tag, so its first store takes the
// CPU's slow path — until that store, and the memory API (devices, DMA,
// monitors, the host's own copies) marks what it writes. Unlike the dirty
// log nothing is charged or counted: a store through the slow path to a
// frame only tracking protects costs what the fast path costs (the
// instruction's cycles, charged before either), the TLB's entries are
// untouched (only the host-side tags are re-derived), and the CPU's return
// to the machine loop after it is one more slice, which changes nothing. So
// no simulated figure depends on which frames are tracked.

import { TRACK, type PhysicalMemory } from "./memory.js";
import type { Mmu } from "./mmu/mmu.js";

const NONE: readonly number[] = Object.freeze([]);

/** machine.trackWrites: starts (clean: not written yet) or stops tracking frame `frame`. */
export function trackWrites(memory: PhysicalMemory, mmu: Mmu, frame: number, on: boolean): void {
  if (!on && memory.track === undefined) return;
  memory.track ??= new Uint8Array(memory.size >>> 12);
  if (on && memory.track[frame] !== TRACK.OFF) return; // tracked already: what it has noted stands
  memory.track[frame] = on ? TRACK.CLEAN : TRACK.OFF;
  mmu.protectTracked(frame, on);
}

/**
 * machine.takeTrackedWrites: the tracked frames written since they were
 * last taken (or began to be tracked), each once, in the order they were
 * first written; each is clean and write-protected again.
 */
export function takeTrackedWrites(memory: PhysicalMemory, mmu: Mmu): readonly number[] {
  const list = memory.trackedWritten;
  if (list.length === 0) return NONE;
  const track = memory.track!;
  const out: number[] = [];
  // A frame no longer tracked (or tracked again since) is in the list but not WRITTEN: skipped.
  for (const f of list) {
    if (track[f] !== TRACK.WRITTEN) continue;
    track[f] = TRACK.CLEAN;
    mmu.protectTracked(f, true);
    out.push(f);
  }
  list.length = 0;
  return out;
}
