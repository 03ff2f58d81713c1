// The cycle counter: `in rd, 0x22` reads the low 32 bits of the machine's
// cycle count at that instruction (the cost-model cycles, docs/design.md §4).
// Writes are ignored.

import { PORT, type Device } from "../bus/ports.js";

export class CycleCounterDevice implements Device {
  readonly name = "cycle-counter";
  /** No events of its own (ports.ts Device.eventless). */
  readonly eventless = true;
  readonly ports = [PORT.CYCLE_COUNTER];
  read(_port: number, now: number): number {
    return Math.floor(now) % 0x1_0000_0000 | 0;
  }
  write(): void {}
  nextEvent(): number {
    return Infinity;
  }
  onEvent(): void {}
}
