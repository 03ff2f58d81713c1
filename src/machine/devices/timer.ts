// The interval timer: ports 0x20 (period) and 0x21 (acknowledge).
//
//   out 0x20, rs   period in cycles; 0 stops the timer. The first tick comes
//                  `period` cycles after the write, then every `period`.
//   in  rd, 0x20   the current period.
//   out 0x21, rs   acknowledge: lowers line 0 (any value).
//   in  rd, 0x21   1 if line 0 is asserted, else 0 (no side effect).
//
// Each tick asserts line 0 (level-triggered) until acknowledged. Ticks that
// fall while the line is still asserted are merged, as on a real PIT/APIC:
// no backlog of interrupts builds up.

import { IRQ } from "../../guest-isa/registers.js";
import { PORT, type Device, type InterruptLines } from "../bus/ports.js";

export interface TimerState {
  period: number;
  next: number;
  ticks: number;
}

export class TimerDevice implements Device {
  readonly name = "timer";
  readonly ports = [PORT.TIMER_PERIOD, PORT.TIMER_ACK];
  private period = 0;
  private next = Infinity;
  ticks = 0;

  constructor(private readonly lines: InterruptLines) {}

  read(port: number): number {
    if (port === PORT.TIMER_PERIOD) return this.period;
    return (this.lines.pending >>> IRQ.TIMER) & 1;
  }

  write(port: number, value: number, now: number): void {
    if (port === PORT.TIMER_PERIOD) {
      this.period = value >>> 0;
      this.next = this.period === 0 ? Infinity : now + this.period;
    } else {
      this.lines.lower(IRQ.TIMER);
    }
  }

  nextEvent(): number {
    return this.next;
  }

  /** Period, the absolute cycle of the next tick (the timer's phase) and the tick count, for a snapshot. */
  saveState(): TimerState {
    return { period: this.period, next: this.next, ticks: this.ticks };
  }
  restoreState(s: TimerState): void {
    this.period = s.period;
    this.next = s.next;
    this.ticks = s.ticks;
  }

  onEvent(now: number): void {
    this.ticks++;
    this.lines.raise(IRQ.TIMER);
    // Skip missed periods (e.g. after a long device wait) instead of replaying them.
    this.next += this.period;
    if (this.next <= now) this.next = now + this.period - ((now - this.next) % this.period);
  }
}
