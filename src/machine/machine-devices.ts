// The devices every machine has (docs/machine.md "Devices (ports)", "MMIO")
// and how they sit on each CPU's port bus: the console, the disk and the
// memory-mapped disk shared by all CPUs and interrupting CPU 0 (their events
// fire on CPU 0's bus only), a timer per CPU, and the cycle counter, power,
// multiprocessor and memory-supervisor ports on every bus.
//
// Consumes the machine being built (DevicesHost: machine.ts's constructor
// passes itself) and its options (console input and output, disks, disk
// latency, protection, extra devices). Produces the devices the machine
// keeps (`console`, `disk`, `nvdisk`, `supervisor`) and `attach`, which
// fills one CPU's bus and returns that CPU's timer.

import type { InterruptLines, PortBus } from "./bus/ports.js";
import { ConsoleDevice, bytesInput } from "./devices/console.js";
import { CycleCounterDevice } from "./devices/cycle-counter.js";
import { DiskDevice, DISK_LATENCY_CYCLES } from "./devices/disk.js";
import { NVDISK_BASE, NVDISK_WINDOW_BYTES, NvdiskDevice } from "./devices/nvdisk.js";
import { PowerDevice } from "./devices/power.js";
import { SmpDevice, type SmpHost } from "./devices/smp.js";
import { TimerDevice } from "./devices/timer.js";
import type { MachineOptions } from "./machine-options.js";
import type { PhysicalMemory } from "./memory.js";
import type { Mmu } from "./mmu/mmu.js";
import { ACCESS } from "./monitor.js";
import type { Protection } from "./protection/protection.js";
import { SupervisorDevice } from "./protection/supervisor.js";

/** What the devices need from the machine (read when they are used, not when they are made). */
export interface DevicesHost extends SmpHost {
  readonly memory: PhysicalMemory;
  readonly protection: Protection;
  readonly mmu: Mmu;
  /** The pc of the `in`/`out` being executed (the memory supervisor asks who calls it). */
  readonly ioPc: number;
  powerOff(exitCode: number): void;
}

export interface MachineDevices {
  readonly console: ConsoleDevice;
  readonly disk: DiskDevice;
  /** The memory-mapped disk, when MachineOptions.nvdisk gives one (its window is then the memory's device range). */
  readonly nvdisk: NvdiskDevice | undefined;
  /** The guest kernel's interface to protection domains (ports 0x50–0x54). */
  readonly supervisor: SupervisorDevice;
  /** Puts the devices on CPU `cpu`'s bus, with a timer of its own interrupting on `lines` (returned). */
  attach(cpu: number, bus: PortBus, lines: InterruptLines): TimerDevice;
}

/** Makes the machine's devices; the shared ones interrupt CPU 0, whose lines are `lines0`. */
export function makeDevices(host: DevicesHost, options: MachineOptions, lines0: InterruptLines): MachineDevices {
  const memory = host.memory;
  const latency = options.diskLatency ?? DISK_LATENCY_CYCLES;
  const consoleDevice = new ConsoleDevice(options.consoleInput ?? bytesInput(""), options.consoleOutput ?? (() => {}), lines0);
  const disk = new DiskDevice(options.disk, memory, lines0, latency);
  const nvdisk = options.nvdisk ? new NvdiskDevice(options.nvdisk, memory, lines0, latency) : undefined;
  if (nvdisk) {
    memory.deviceBase = NVDISK_BASE;
    memory.deviceEnd = NVDISK_BASE + NVDISK_WINDOW_BYTES;
  }
  const counter = new CycleCounterDevice();
  const power = new PowerDevice((code) => host.powerOff(code));
  const smp = new SmpDevice(host);
  const supervisor = new SupervisorDevice({
    protection: host.protection,
    get ioPc() {
      return host.ioPc;
    },
    get guestLimit() {
      return memory.guestLimit;
    },
    translator: () => {
      // The guest's own translation (its virtual ptbr/pgctl under a shadow pager), not the real MMU's.
      const cr = host.mmu.guestPaging();
      return (va) => {
        const r = host.mmu.probeGuest(va, ACCESS.LOAD, false, cr);
        return typeof r === "number" ? r : undefined;
      };
    },
  });
  supervisor.enabled = options.protection ?? true;
  return {
    console: consoleDevice,
    disk,
    nvdisk,
    supervisor,
    attach(cpu: number, bus: PortBus, lines: InterruptLines): TimerDevice {
      const timer = new TimerDevice(lines);
      bus.attach(consoleDevice, cpu === 0);
      bus.attach(timer);
      bus.attach(counter);
      bus.attach(disk, cpu === 0);
      if (nvdisk) bus.attach(nvdisk, cpu === 0);
      bus.attach(power);
      bus.attach(smp, false); // no events: the uniprocessor's event loop sees the devices it always had
      bus.attach(supervisor, false);
      for (const d of options.devices ?? []) bus.attach(d, false);
      return timer;
    },
  };
}
