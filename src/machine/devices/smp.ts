// The multiprocessor ports 0x40–0x45 (docs/machine.md "Multiprocessor"):
//
//   in  rd, 0x40   this CPU's number
//   in  rd, 0x41   the number of CPUs
//   out 0x43, rs   the start address for this CPU's next `out 0x42` (in: reads it back)
//   out 0x42, rs   start CPU rs at that address (supervisor, IE=0, paging off, registers 0)
//   out 0x44, rs   send an IPI to CPU rs: raises line 3 on it (itself included)
//   out 0x45, rs   acknowledge this CPU's IPI: lowers line 3 on this CPU (any value)
//
// Every CPU sees the same device; "this CPU" is the one executing the `in` or
// `out` (machine.cpuId). Starting a CPU that does not exist or is already
// running, or an IPI to a CPU that does not exist, is ignored and counted
// (`badCpuPortWrites`): never a crash. The machine does the work (startCpu,
// sendIpi, lowerLine); this file only decodes ports.

import { IRQ } from "../../guest-isa/registers.js";
import { PORT, type Device } from "../bus/ports.js";

/** What the ports need from the machine. */
export interface SmpHost {
  readonly cpuId: number;
  readonly cpuCount: number;
  startCpu(n: number, entry: number): boolean;
  sendIpi(n: number): boolean;
  lowerLine(line: number): void;
  /** Counts an unpriced event. */
  count(name: string): void;
  /** The executing CPU's start address register (port 0x43). */
  startAddress: number;
}

export class SmpDevice implements Device {
  readonly name = "smp";
  /** No events of its own (ports.ts Device.eventless). */
  readonly eventless = true;
  readonly ports = [PORT.CPU_ID, PORT.CPU_COUNT, PORT.CPU_START, PORT.CPU_START_ADDRESS, PORT.IPI_SEND, PORT.IPI_ACK];

  constructor(private readonly host: SmpHost) {}

  read(port: number): number {
    if (port === PORT.CPU_ID) return this.host.cpuId;
    if (port === PORT.CPU_COUNT) return this.host.cpuCount;
    if (port === PORT.CPU_START_ADDRESS) return this.host.startAddress;
    return 0;
  }

  write(port: number, value: number): void {
    const h = this.host;
    switch (port) {
      case PORT.CPU_START_ADDRESS:
        h.startAddress = value | 0;
        return;
      case PORT.CPU_START:
        if (!h.startCpu(value, h.startAddress)) h.count("badCpuPortWrites");
        return;
      case PORT.IPI_SEND:
        if (!h.sendIpi(value)) h.count("badCpuPortWrites");
        return;
      case PORT.IPI_ACK:
        h.lowerLine(IRQ.IPI);
        return;
    }
  }

  nextEvent(): number {
    return Infinity;
  }
  onEvent(): void {}
}
