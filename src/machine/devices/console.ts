// The console: port 0x10 data, 0x11 status (docs/design.md §2).
//
//   out 0x10, rs   writes the low byte of rs to the output sink (stdout).
//   in  rd, 0x10   reads the next input byte (0–255), or -1 when there is none.
//   in  rd, 0x11   status: bit 0 = input ready; bit 1 = receive interrupt enabled.
//   out 0x11, rs   bit 1 enables the receive interrupt: line 1 is asserted
//                  while enabled and input is ready (level-triggered; reading
//                  the data drains it). Off at reset.
//
// Input comes from a byte string (tests, `io.stdin`) or lazily from the
// process's stdin (src/cli/host-devices.ts): nothing is read until the guest first asks, so a guest
// that never reads never waits for EOF. A read from stdin blocks until some
// input or EOF arrives.

import { PORT, type Device, type InterruptLines } from "../bus/ports.js";
import { IRQ } from "../../guest-isa/registers.js";

export const CONSOLE_STATUS_READY = 1 << 0;
export const CONSOLE_STATUS_RX_IRQ = 1 << 1;
export const NO_INPUT = -1;

/** A source of console input bytes. */
export interface ConsoleInput {
  /** Whether a byte can be read now (may block to find out, for stdin). */
  ready(): boolean;
  /** The next byte, or -1 at end of input. */
  read(): number;
}

export function bytesInput(bytes: Uint8Array | string): ConsoleInput {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  let pos = 0;
  return {
    ready: () => pos < data.length,
    read: () => (pos < data.length ? data[pos++] : NO_INPUT),
  };
}

export class ConsoleDevice implements Device {
  readonly name = "console";
  /** No events of its own (ports.ts Device.eventless). */
  readonly eventless = true;
  readonly ports = [PORT.CONSOLE_DATA, PORT.CONSOLE_STATUS];
  private rxIrq = false;
  private pendingOut: number[] = [];

  /** `sink` receives output text, flushed at each newline and at `flush()`. */
  constructor(
    private readonly input: ConsoleInput,
    private readonly sink: (text: string) => void,
    private readonly lines: InterruptLines,
  ) {}

  read(port: number): number {
    if (port === PORT.CONSOLE_DATA) {
      const b = this.input.read();
      this.updateLine();
      return b;
    }
    return (this.input.ready() ? CONSOLE_STATUS_READY : 0) | (this.rxIrq ? CONSOLE_STATUS_RX_IRQ : 0);
  }

  write(port: number, value: number): void {
    if (port === PORT.CONSOLE_DATA) {
      this.pendingOut.push(value & 0xff);
      if ((value & 0xff) === 0x0a || this.pendingOut.length >= 4096) this.flush();
      return;
    }
    this.rxIrq = (value & CONSOLE_STATUS_RX_IRQ) !== 0;
    this.updateLine();
  }

  nextEvent(): number {
    return Infinity;
  }
  onEvent(): void {}

  /** The receive-interrupt enable, for a snapshot (output is flushed first; input is the new run's own). */
  saveState(): { rxIrq: boolean } {
    this.flush();
    return { rxIrq: this.rxIrq };
  }
  restoreState(s: { rxIrq: boolean }): void {
    this.rxIrq = s.rxIrq;
  }

  /** Whether console input could still wake a halted CPU. */
  canWake(): boolean {
    return this.rxIrq && this.input.ready();
  }

  flush(): void {
    if (this.pendingOut.length === 0) return;
    // Bytes as Latin-1 characters, as Node's Buffer "latin1" did — by hand, because the machine runs
    // in a browser too, where TextDecoder's "latin1" is windows-1252 (0x80–0x9f differ). In chunks,
    // to stay under the engine's limit on arguments.
    let text = "";
    for (let i = 0; i < this.pendingOut.length; i += 4096) text += String.fromCharCode(...this.pendingOut.slice(i, i + 4096));
    this.pendingOut = [];
    this.sink(text);
  }

  private updateLine(): void {
    if (this.rxIrq && this.input.ready()) this.lines.raise(IRQ.CONSOLE);
    else this.lines.lower(IRQ.CONSOLE);
  }
}
