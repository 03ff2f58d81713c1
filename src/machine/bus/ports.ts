// The I/O port bus: `in`/`out` reach devices through here, never through the
// CPU. Each device (devices/*.ts) claims its ports; the bus also keeps the
// interrupt lines (level-triggered pending bits) and the device event
// schedule the CPU consults between instructions.
//
// Unknown ports: reads return 0xFFFFFFFF (-1, an open bus) and writes are
// ignored — no fault, as on a PC's ISA bus. Each access still counts as a
// device access.

/** The port numbers of docs/design.md §2. */
export const PORT = {
  CONSOLE_DATA: 0x10,
  CONSOLE_STATUS: 0x11,
  TIMER_PERIOD: 0x20,
  TIMER_ACK: 0x21,
  CYCLE_COUNTER: 0x22,
  DISK_SECTOR: 0x30,
  DISK_DMA: 0x31,
  DISK_COMMAND: 0x32,
  DISK_STATUS: 0x33,
  CPU_ID: 0x40,
  CPU_COUNT: 0x41,
  CPU_START: 0x42,
  CPU_START_ADDRESS: 0x43,
  IPI_SEND: 0x44,
  IPI_ACK: 0x45,
  POWER: 0xf0,
} as const;

/** What a read of an unclaimed port returns. */
export const OPEN_BUS = -1;

/** Level-triggered interrupt lines: bit n set while line n is asserted. */
export class InterruptLines {
  pending = 0;
  raise(line: number): void {
    this.pending |= 1 << line;
  }
  lower(line: number): void {
    this.pending &= ~(1 << line);
  }
  /** The lowest asserted line, or undefined. */
  lowest(): number | undefined {
    if (this.pending === 0) return undefined;
    return 31 - Math.clz32(this.pending & -this.pending);
  }
}

export interface Device {
  readonly name: string;
  readonly ports: readonly number[];
  /** `in rd, port`; `now` is the cycle count at the instruction. */
  read(port: number, now: number): number;
  /** `out port, rs`. */
  write(port: number, value: number, now: number): void;
  /** Absolute cycle of this device's next event, or Infinity. */
  nextEvent(): number;
  /** Called once `now` has reached nextEvent(). */
  onEvent(now: number): void;
  /**
   * True for a device that never schedules an event (nextEvent() is always
   * Infinity): the bus leaves it out of its event schedule, so the machine
   * loop's nextEvent() between runs asks only the devices that can have one.
   */
  readonly eventless?: boolean;
  /**
   * A device the hypervisor implements in software (the multi-guest host's
   * domain device): an access is no bus transaction, so the machine counts
   * it but charges no `deviceAccess` — what reaching it costs is the exit or
   * hypercall that got there, charged by the monitor.
   */
  readonly inHypervisor?: boolean;
}

export class PortBus {
  private readonly byPort = new Map<number, Device>();
  /** The devices whose events this bus fires (attached with events, not eventless). */
  readonly devices: Device[] = [];

  /**
   * Attaches a device: its ports, and its events unless `events` is false (a
   * multiprocessor's shared device is on every CPU's bus, but its events fire
   * on CPU 0's alone, the CPU it interrupts: machine.ts).
   */
  attach(device: Device, events = true): void {
    for (const p of device.ports) {
      const other = this.byPort.get(p);
      if (other) throw new Error(`port 0x${p.toString(16)} claimed by ${other.name} and ${device.name}`);
      this.byPort.set(p, device);
    }
    if (events && device.eventless !== true) this.devices.push(device);
  }

  /** Whether `port` belongs to a device the hypervisor implements (Device.inHypervisor). */
  inHypervisor(port: number): boolean {
    return this.byPort.get(port)?.inHypervisor === true;
  }

  read(port: number, now: number): number {
    const d = this.byPort.get(port);
    return d ? d.read(port, now) | 0 : OPEN_BUS;
  }

  write(port: number, value: number, now: number): void {
    this.byPort.get(port)?.write(port, value | 0, now);
  }

  /** The earliest pending device event, or Infinity. */
  nextEvent(): number {
    let t = Infinity;
    for (const d of this.devices) t = Math.min(t, d.nextEvent());
    return t;
  }

  /** Fires every event due at or before `now`. */
  fireDue(now: number): void {
    for (const d of this.devices) if (d.nextEvent() <= now) d.onEvent(now);
  }
}
