// The contract test for back ends: a small monitor exercising every hook of
// src/machine/monitor.ts on real guest code. Later monitors (hvm, trap, xen,
// l4) rely on exactly these behaviours.
import { describe, expect, it } from "vitest";
import { CAUSE, IRQ } from "../../src/guest-isa/registers.js";
import type { Mnemonic } from "../../src/guest-isa/isa-table.js";
import { runImage } from "../../src/machine/run-image.js";
import type { Machine } from "../../src/machine/machine.js";
import { ACCESS, type Access, type ExitAction, type Monitor, type MonitorTranslation, type TrapDisposition, type TrapInfo } from "../../src/machine/monitor.js";
import { R, image, li } from "./program.js";
import { CR, mfcr, setTvec } from "./helpers.js";

const WINDOW = 0xffc0_0000;
const WATCHED = 0x8000;

class TestMonitor implements Monitor {
  readonly name = "test";
  readonly exits: Mnemonic[] = ["rdpsr", "in"];
  m!: Machine;
  windowBase = 0;
  log: string[] = [];
  stores: [number, number, number][] = [];

  attach(machine: Machine): void {
    this.m = machine;
    this.windowBase = machine.reserveTop(64 * 1024);
    machine.watchFrame(WATCHED);
  }
  onExit(mn: Mnemonic, word: number, pc: number): ExitAction {
    this.log.push(`exit ${mn} @${pc.toString(16)}`);
    this.m.charge("vmExit");
    this.m.count(`exit:${mn}`);
    const rd = (word >>> 6) & 15;
    if (mn === "rdpsr") this.m.regs[rd] = 0x1234; // the virtual psr
    if (mn === "in") this.m.regs[rd] = 0x55; // an emulated device
    return "advance";
  }
  onException(t: TrapInfo): TrapDisposition {
    if (t.cause !== CAUSE.SYSCALL) return "deliver";
    this.log.push(`syscall epc=${t.epc.toString(16)}`);
    this.m.regs[R.a2] = 99;
    this.m.pc = t.epc; // resume after the syscall, the guest's tvec never sees it
    return "resume";
  }
  onHcall(n: number): ExitAction {
    this.m.charge("hypercall");
    if (n === 5) this.m.regs[R.a1] = n * 2;
    if (n === 6) this.m.raiseLine(IRQ.CONSOLE);
    if (n === 7) this.m.stop("monitor", "guest asked to stop");
    if (n === 8) return "native";
    return "advance";
  }
  translate(va: number, _access: Access, _user: boolean): MonitorTranslation | undefined {
    if (va >>> 0 >= WINDOW) return { frame: this.windowBase + ((va - WINDOW) & 0xf000), writable: true, user: false };
    return undefined;
  }
  onWatchedStore(pa: number, value: number, size: 1 | 2 | 4): void {
    this.stores.push([pa, value, size]);
    this.m.memory.write32(pa & ~3, value * 2); // emulate: store twice the value
  }
}

function guest() {
  return image([
    ...setTvec(),
    ["rdpsr", { a: R.a0 }], // exits: 0x1234
    ["hcall", { imm: 5 }], // a1 = 10
    ["syscall"], // intercepted: a2 = 99
    ...li(R.s0, WINDOW), ["addi", { a: R.t0, b: R.zero, imm: 77 }], ["sw", { a: R.t0, b: R.s0, imm: 16 }], ["lw", { a: R.a3, b: R.s0, imm: 16 }],
    ...li(R.s1, WATCHED), ["addi", { a: R.t0, b: R.zero, imm: 5 }], ["sw", { a: R.t0, b: R.s1, imm: 4 }], ["lw", { a: R.t1, b: R.s1, imm: 4 }],
    ["in", { a: R.t2, imm: 0x10 }], // exits: 0x55
    ["hcall", { imm: 6 }], // raise line 1
    ["sti"], // → interrupt 0x81 at the next boundary
    ["hcall", { imm: 8 }], // not reached
    "handler",
    mfcr(R.s2, CR.cause),
    ["hcall", { imm: 8 }], // replaced by hcall 7 (stop) in the test
  ]);
}

describe("monitor hooks", () => {
  it("intercept instructions, exceptions, hcall, translation, watched stores; inject interrupts; charge; stop", () => {
    const mon = new TestMonitor();
    const img = guest();
    // Make the handler stop via hcall 7 instead of the illegal path.
    const text = img.sections[0].data;
    new DataView(text.buffer).setUint32(text.length - 4, 45 | (7 << 14), true); // hcall 7
    const out = runImage(img, { monitor: mon });
    expect(out.result.kind).toBe("stopped");
    if (out.result.kind !== "stopped") return;
    expect(out.result.reason).toBe("monitor");
    expect(out.result.message).toBe("guest asked to stop");
    const r = out.machine.regs;
    expect(r[R.a0]).toBe(0x1234);
    expect(r[R.a1]).toBe(10);
    expect(r[R.a2]).toBe(99);
    expect(r[R.a3]).toBe(77);
    expect(out.machine.memory.read32(mon.windowBase + 16)).toBe(77); // in monitor-reserved RAM
    expect(mon.stores).toEqual([[WATCHED + 4, 5, 4]]);
    expect(r[R.t1]).toBe(10);
    expect(r[R.t2]).toBe(0x55);
    expect(r[R.s2]).toBe(CAUSE.INTERRUPT_BASE + IRQ.CONSOLE);
    expect(out.stats.events.vmExit).toBe(2);
    expect(out.stats.events.hypercall).toBe(3);
    expect(out.stats.counts).toMatchObject({ "exit:rdpsr": 1, "exit:in": 1 });
    expect(out.stats.exceptions).toMatchObject({ syscall: 1, "interrupt-1": 1 });
    expect(mon.log).toEqual(["exit rdpsr @100c", "syscall epc=1018", expect.stringMatching(/^exit in @/)]);
  });

  it("the guest cannot reach monitor-reserved RAM itself: bus error", () => {
    const mon = new TestMonitor();
    const out = runImage(image([...setTvec(), ...li(R.t0, 0x3ff_0000), ["lw", { a: R.a0, b: R.t0, imm: 0 }], "handler", mfcr(R.s0, CR.cause), ["hcall", { imm: 7 }]]), { monitor: mon });
    expect(out.machine.regs[R.s0]).toBe(CAUSE.BUS_ERROR);
  });

  it("a monitor can deliver an exception into the guest and read guest memory by translation", () => {
    const mon: Monitor = {
      name: "inject",
      onHcall(n) {
        if (n === 1) { m.deliverException(CAUSE.BREAKPOINT, (m.pc + 4) | 0); return "resume"; }
        m.stop("monitor", `read ${m.memory.read32(m.translate(0x8000, ACCESS.LOAD, false) as number)}`);
        return "resume";
      },
    };
    let m!: Machine;
    (mon as { attach?: (x: Machine) => void }).attach = (x) => (m = x);
    const out = runImage(image([...setTvec(), ...li(R.t0, 0x8000), ["addi", { a: R.t1, b: R.zero, imm: 31 }], ["sw", { a: R.t1, b: R.t0, imm: 0 }], ["hcall", { imm: 1 }], "handler", mfcr(R.s0, CR.cause), ["hcall", { imm: 2 }]]), { monitor: mon });
    expect(out.machine.regs[R.s0]).toBe(CAUSE.BREAKPOINT);
    expect(out.result.kind === "stopped" && out.result.message).toBe("read 31");
  });

  it("refuses exits on ordinary instructions", async () => {
    const { Machine: M } = await import("../../src/machine/machine.js");
    expect(() => new M({ ramSize: 1 << 20 }).attach({ name: "bad", exits: ["add"] })).toThrow(/cannot exit/);
  });
});
