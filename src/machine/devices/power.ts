// The power port: `out 0xF0, rs` powers the machine off with exit code
// rs & 0xFF (the `previrt run` exit status). `in rd, 0xF0` reads 0.

import { PORT, type Device } from "../bus/ports.js";

export class PowerDevice implements Device {
  readonly name = "power";
  /** No events of its own (ports.ts Device.eventless). */
  readonly eventless = true;
  readonly ports = [PORT.POWER];
  constructor(private readonly powerOff: (exitCode: number) => void) {}
  read(): number {
    return 0;
  }
  write(_port: number, value: number): void {
    this.powerOff(value & 0xff);
  }
  nextEvent(): number {
    return Infinity;
  }
  onEvent(): void {}
}
