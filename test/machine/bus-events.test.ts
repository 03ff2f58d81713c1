// The port bus's event schedule (src/machine/bus/ports.ts): devices marked
// `eventless` are left out of nextEvent()/fireDue(), which the machine loop
// asks at every return of the CPU loop. These tests check that the schedule
// holds exactly the devices that can have events, that an eventless device
// really never has one, and that a device with events is never skipped.
import { describe, expect, it } from "vitest";
import { PORT, PortBus, type Device } from "../../src/machine/bus/ports.js";
import { CycleCounterDevice } from "../../src/machine/devices/cycle-counter.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import { PowerDevice } from "../../src/machine/devices/power.js";
import { SmpDevice } from "../../src/machine/devices/smp.js";
import { Machine } from "../../src/machine/machine.js";

function ticker(at: number, eventless?: boolean): Device & { fired: number } {
  return {
    name: "ticker",
    ports: [0x99],
    fired: 0,
    ...(eventless === undefined ? {} : { eventless }),
    read: () => 0,
    write: () => {},
    nextEvent: () => at,
    onEvent() {
      this.fired++;
    },
  };
}

describe("the port bus's event schedule", () => {
  it("holds the timer and the disks, not the machine's eventless devices", () => {
    const m = new Machine({ ramSize: 1 << 20, nvdisk: memoryDisk(new Uint8Array(4096)), residentBytes: () => 0 });
    expect(m.bus.devices.map((d) => d.name)).toEqual(["timer", "disk", "nvdisk"]);
  });

  it("asks only devices with events, and skips none of them", () => {
    const bus = new PortBus();
    const a = ticker(50);
    const b = ticker(10, false);
    const quiet = { ...ticker(5, true), ports: [0x98] };
    bus.attach(a);
    bus.attach({ ...b, ports: [0x97] });
    bus.attach(quiet);
    expect(bus.nextEvent()).toBe(10);
    bus.fireDue(60);
    expect(a.fired).toBe(1);
    expect(quiet.fired).toBe(0);
    expect(bus.devices).not.toContain(quiet);
  });

  it("a device marked eventless has no event, whatever is written to its ports", () => {
    const m = new Machine({ ramSize: 1 << 20, residentBytes: () => 0 });
    const devices: Device[] = [m.console, m.supervisor, new CycleCounterDevice(), new PowerDevice(() => {}), new SmpDevice(m)];
    for (const d of devices) {
      expect(d.eventless, d.name).toBe(true);
      for (const p of d.ports) d.write(p, 1, 0);
      expect(d.nextEvent(), d.name).toBe(Infinity);
    }
    // And the timer, which has events, is asked.
    m.portWrite(PORT.TIMER_PERIOD, 100);
    expect(m.bus.nextEvent()).toBe(m.cycles + 100);
  });
});
