// The second layer of the host side of xen and l4 (wedge-monitor.ts has the
// whole chain): moving a running guest (docs/migration.md). WedgeMigration
// extends WedgeState (wedge-state.ts), whose state it exports and restores.
//
// Consumes the monitor's per-vCPU state and window; produces the
// back-end-neutral virtual CPU (neutral-state.ts: the psr, and the control
// registers from the window with ptbr/pgctl from the monitor) and imports
// one, which reinstalls the window; the exact state (saveExact/restoreExact)
// for a snapshot resumed on the same back end, checked as the input a
// snapshot file is, with the back end's own part (saveBackend, restoreBackend:
// xen's write-protected frames, l4's mappings); and the checks that say
// whether the guest can be moved now (exactProblem, unsafeReason).

import { CR, PGCTL_ENABLE } from "../../guest-isa/registers.js";
import { SHF_WRITE } from "../../guest-isa/elf-types.js";
import { isWholeIn, type MigratableMonitor, type NeutralState } from "./neutral-state.js";
import { WedgeState } from "./wedge-state.js";
import { WINDOW_BACKED } from "./window.js";

export abstract class WedgeMigration extends WedgeState implements MigratableMonitor {
  /** Whether the window's read-only part (the VMM's sections other than its shared-info data) is as installWindow writes it. */
  exactProblem(): string | undefined {
    const u8 = this.machine.memory.u8;
    const differs = (va: number, bytes: Uint8Array) => {
      const at = this.windowPa + (va - WINDOW_BACKED);
      for (let i = 0; i < bytes.length; i++) if (u8[at + i] !== bytes[i]) return true;
      return false;
    };
    for (const sec of this.vmm.image.sections) {
      if (sec.addr >= WINDOW_BACKED && sec.data.length && (sec.flags & SHF_WRITE) === 0 && differs(sec.addr, sec.data)) return `the in-place VMM's ${sec.name} in its reserved pages differs from the back end's`;
    }
    // (No stubs to compare: a snapshot keeps the native lock sites, and only the --spinlocks cures' sites need stubs.)
    return undefined;
  }

  /** Virtual psr from the window (SU is the monitor's), control registers from the window, ptbr/pgctl from the monitor. */
  exportNeutral(): NeutralState {
    return this.guestRegisters();
  }

  /** Installs the VMM in the window (and a shared-info page per vCPU). */
  beginImport(): void {
    this.installWindow();
    this.callback = 0;
    this.resumeFixups = new Map(this.siteList.filter((x) => x.record.length > 4).map((x) => [(x.record.addr + 4) >>> 0, (x.record.addr + x.record.length) | 0]));
  }

  /** The running vCPU's virtual CPU: the guest continues deprivileged. */
  importNeutral(s: NeutralState): void {
    const m = this.machine;
    this.holding = false;
    this.ptbr = s.cr[CR.ptbr];
    this.pgctl = s.cr[CR.pgctl];
    this.vcr.set(s.cr);
    m.cr.fill(0);
    m.cr[CR.ptbr] = this.ptbr;
    m.cr[CR.pgctl] = this.pgctl & PGCTL_ENABLE;
    // Port 0x43 as the guest last wrote it (the machine's, restored with it): its next `out 0x42` starts a vCPU there.
    this.vStartAddress[m.cpuId] = m.startAddress;
    this.rootChanged();
    this.storePsr(s.psr);
  }

  /** Migratable.siteReturnAddress: the instruction after EMULATE's hypercall (vmm-core.s.ts), the jump back past the site. */
  siteReturnAddress(): number | undefined {
    return this.vmm.symbols.EMULATE_RETURN;
  }

  /** A queued page-table update the monitor has not applied yet: the guest's memory is not its whole state. */
  unsafeReason(): string | undefined {
    const q = this.machine.memory.i32[this.iQcount];
    return q !== 0 ? `${q} page-table update${q === 1 ? "" : "s"} queued` : undefined;
  }

  saveExact(): Record<string, unknown> {
    return {
      su: Array.from(this.vSu),
      holding: Array.from(this.vHolding),
      ptbr: Array.from(this.vPtbr),
      pgctl: Array.from(this.vPgctl),
      startAddress: Array.from(this.vStartAddress),
      upcallDue: Array.from(this.vUpcallDue),
      callback: this.callback,
      resumeFixups: this.resumeFixups ? [...this.resumeFixups] : null,
      scheduler: this.scheduler?.save() ?? null,
      // Whether the VMM had its protection domain (--no-protect): a resume here keeps the run's choice (restoreGuest).
      protect: this.protectVmm,
      ...this.saveBackend(),
    };
  }

  restoreExact(s: Record<string, unknown>): void {
    const n = this.machine.cpuCount;
    // As saveExact writes them (a snapshot file is input): flags 0 or 1, the rest the Int32Arrays' whole numbers.
    // A typed array's set would turn 1.5 into 1, or 2^32 into 0, silently.
    const FLAG = [0, 1] as const;
    const WORD = [-0x8000_0000, 0x7fff_ffff] as const;
    const per = (k: string, [lo, hi]: readonly [number, number] = WORD): number[] => {
      const a = s[k];
      if (!Array.isArray(a) || a.length !== n || !a.every((x) => isWholeIn(x, lo, hi))) throw new Error(`${k} is not one ${hi === 1 ? "flag (0 or 1)" : "32-bit whole number"} per vCPU`);
      return a as number[];
    };
    this.vSu.set(per("su", FLAG));
    this.vHolding.set(per("holding", FLAG));
    this.vPtbr.set(per("ptbr"));
    this.vPgctl.set(per("pgctl"));
    this.vStartAddress.set(per("startAddress"));
    // (Absent from snapshots written before it existed: no upcall due.)
    if (s.upcallDue === undefined) this.vUpcallDue.fill(0);
    else this.vUpcallDue.set(per("upcallDue", FLAG));
    // As the monitor keeps them (a snapshot file is input): the callback a SET_CALLBACKS argument (a word-aligned
    // register value) or 0; each fixup a site's pc + 4 (unsigned) to its end (signed), both word-aligned.
    const aligned = (v: unknown, lo: number, hi: number) => isWholeIn(v, lo, hi) && (v & 3) === 0;
    if (!aligned(s.callback, ...WORD)) throw new Error("the event callback is not a word-aligned address");
    const fixups = s.resumeFixups;
    if (fixups !== null && !(Array.isArray(fixups) && fixups.every((f) => Array.isArray(f) && f.length === 2 && aligned(f[0], 0, 0xffff_ffff) && aligned(f[1], ...WORD)))) {
      throw new Error("resumeFixups is not pairs of word-aligned addresses");
    }
    this.callback = s.callback as number;
    this.resumeFixups = fixups ? new Map(fixups as [number, number][]) : undefined;
    if (s.protect !== undefined && typeof s.protect !== "boolean") throw new Error("protect is not true or false");
    if (this.scheduler && s.scheduler) this.scheduler.restore(s.scheduler as Record<string, unknown>);
    this.restoreBackend(s);
  }

  /** The back end's own bookkeeping (xen: write-protected frames; l4: the task's mappings). */
  protected abstract saveBackend(): Record<string, unknown>;
  protected abstract restoreBackend(s: Record<string, unknown>): void;
}
