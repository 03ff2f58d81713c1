// The domain device: ports 0x60–0x65 of a domain's machine, attached by the
// multi-guest host (host.ts) and nowhere else, so a single-guest run reads
// open bus (-1) there and the bundled kernel knows it has no domain
// services. It is how a pre-virtualized guest, which issues no hypercalls
// itself, reaches the inter-domain services (services.ts): under xen and l4
// its `in`/`out` sites already go through the in-place VMM to the monitor's
// port emulation and land here; under hvm the port instructions exit to the
// monitor, which does the same. The same object is the monitor's
// DomainCalls (HC 18–28 as hypercalls), with its own out values so a
// hypercall never disturbs the port registers. docs/driver-vms.md has the
// port table. ARG0–ARG2 and the result are kept per protection domain of
// the guest (Protection.callerDomain of the `in`/`out`'s pc): a call is
// made with its own domain's arguments, so a module cannot rewrite the
// kernel's between its `out`s, or read its results (docs/protection.md).

import type { Device } from "../../machine/bus/ports.js";
import { HC, type DomainCalls } from "../common/hypercalls.js";
import { DOM_FEATURE, DOM_PORT } from "./abi.js";
import type { DomainServices } from "./services.js";

export class DomainDevice implements Device, DomainCalls {
  readonly name = "domain";
  /** The host implements it in software: reaching it costs the exit or hypercall, no bus transaction (docs/driver-vms.md). */
  readonly inHypervisor = true;
  readonly ports = [DOM_PORT.ID, DOM_PORT.ARG0, DOM_PORT.ARG1, DOM_PORT.ARG2, DOM_PORT.OP, DOM_PORT.EVENTS, DOM_PORT.FEATURES];
  /**
   * Whether the domain's monitor tells the device when it delivers the event
   * line (xen, l4: their monitors call upcall()), which makes the line
   * edge-triggered (DOM_FEATURE.EDGE_EVENTS). Set by the host after it built the machine.
   */
  edgeEvents = false;
  /** Per protection domain of the guest (the kernel's, 0, first): ARG0–ARG2 of the port interface and the last port op's result. */
  private readonly regs = new Map<number, Int32Array>();
  readonly out = new Int32Array(2);

  constructor(
    readonly domid: number,
    private readonly services: DomainServices,
  ) {}

  /** The calling protection domain's ARG0–ARG2 and result ([3]), made on its first use. */
  private callerRegs(): Int32Array {
    const m = this.services.machineOf(this.domid);
    // The guest's `in`/`out` (also when its monitor performs it: the site's pc, Machine.ioPc).
    const d = m.protection.callerDomain(m.ioPc);
    let r = this.regs.get(d);
    if (r === undefined) this.regs.set(d, (r = new Int32Array(4)));
    return r;
  }

  read(port: number): number {
    switch (port) {
      case DOM_PORT.ID:
        return this.domid;
      case DOM_PORT.ARG0:
      case DOM_PORT.ARG1:
      case DOM_PORT.ARG2:
        return this.callerRegs()[port - DOM_PORT.ARG0];
      case DOM_PORT.OP:
        return this.callerRegs()[3];
      case DOM_PORT.EVENTS:
        return this.services.pending[this.domid];
      case DOM_PORT.FEATURES:
        return this.edgeEvents ? DOM_FEATURE.EDGE_EVENTS : 0;
      default:
        return -1;
    }
  }

  write(port: number, value: number): void {
    switch (port) {
      case DOM_PORT.ARG0:
      case DOM_PORT.ARG1:
      case DOM_PORT.ARG2:
        this.callerRegs()[port - DOM_PORT.ARG0] = value;
        return;
      case DOM_PORT.OP: {
        const a = this.callerRegs();
        a[3] = this.services.call(this.domid, value, a[0], a[1], a[2], this.services.machineOf(this.domid).ioPc);
        // DEV_ACCEPT's second and third values (ring ref, port) are read back from ARG0/ARG1; other ops leave the ARGs.
        if (value === HC.DEV_ACCEPT && a[3] >= 0) {
          a[0] = this.services.out[0];
          a[1] = this.services.out[1];
        }
        return;
      }
      case DOM_PORT.EVENTS:
        this.services.acknowledge(this.domid, value);
        return;
    }
  }

  /** DomainCalls: the hypercall form (results in `out`, the port registers untouched). */
  call(op: number, a0: number, a1: number, a2: number): number {
    // The caller: the guest's `hcall`.
    const r = this.services.call(this.domid, op, a0, a1, a2, this.services.machineOf(this.domid).pc);
    this.out[0] = this.services.out[0];
    this.out[1] = this.services.out[1];
    return r;
  }

  /** DomainCalls: the monitor delivered line 4 (an upcall): with edge-triggered events, the line is lowered. */
  upcall(): void {
    if (this.edgeEvents) this.services.upcall(this.domid);
  }

  nextEvent(): number {
    return Infinity;
  }

  onEvent(): void {}
}
