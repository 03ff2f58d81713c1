// Issue 12 item 11: every hypercall (xen) and VMM request IPC (l4) with
// hostile arguments — addresses in the soft-layer window, outside RAM,
// unaligned, wrapping around 2^32, huge counts, read-only pages, page-table
// frames — is refused with a defined error result (HC_ERROR, docs/xen.md)
// or ends in a diagnosed stop: never a host exception, never a write the
// guest could not make itself, never a change to the in-place VMM.
//
// Each guest is a real (unannotated) kernel assembled from the template
// below and run on the real emulator; its exit code is what the hostile
// call returned (or 100 + cause when it trapped to its own handler).
import { describe, expect, it } from "vitest";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { SHF_ALLOC, SHF_WRITE } from "../../src/guest-isa/elf-types.js";
import { HC, HC_ERROR } from "../../src/hypervisors/common/hypercalls.js";
import { buildVmm, WINDOW_BACKED } from "../../src/hypervisors/common/window.js";
import { backends, runElf, type RunElfOutcome } from "../../src/hypervisors/index.js";

const WEDGES = ["xen", "l4"] as const;
const ALL = [...backends.keys()];
const vmm = buildVmm("xen");
const defines: Record<string, number> = { VMM_TEXT: WINDOW_BACKED, VPSR: vmm.symbols.VPSR, QUEUE: vmm.symbols.QUEUE };
for (const [k, v] of Object.entries(HC)) defines[`HC_${k}`] = v;

/**
 * A kernel: sp, a trap handler that exits with 100 + cause, then `body`,
 * then power-off with a0. `paging` first builds an identity map of the
 * first 4 MiB (page directory 0x10000, page table 0x11000; page 0x20000
 * read-only) and turns paging on.
 */
function kernel(body: string, options: { paging?: boolean; beforePaging?: string } = {}): string {
  const paging = options.paging
    ? `
    li   t0, 0x10000
    li   t1, 0x11001            # PDE 0 -> the page table at 0x11000
    sw   t1, 0(t0)
    li   t0, 0x11000
    li   t1, 7                  # V|W|U, frame 0
    li   t2, 1024
.Lmap:
    sw   t1, 0(t0)
    addi t0, t0, 4
    addi t1, t1, 0x1000
    addi t2, t2, -1
    bnez t2, .Lmap
    li   t0, 0x11080            # the PTE of page 0x20000: V|U, not writable
    li   t1, 0x20005
    sw   t1, 0(t0)
${options.beforePaging ?? ""}
    li   t0, 0x10000
    mtcr ptbr, t0
    li   t0, 1
    mtcr pgctl, t0
`
    : "";
  return `
    .text
    .global _start
_start:
    li   sp, 0x80000
    la   t0, handler
    mtcr tvec, t0
${paging}
${body}
    out  0xF0, a0
handler:
    mfcr t0, cause
    addi a0, t0, 100
    out  0xF0, a0
`;
}

function run(text: string, backend: string, maxCycles = 20_000_000, protect = true): RunElfOutcome {
  return runElf(assemble([{ file: "hostile.s", text }], { defines }), { backend, maxCycles, protect });
}

/** The in-place VMM's read-only sections are byte for byte what was loaded. */
function expectVmmIntact(out: RunElfOutcome, backend: string): void {
  const mem = out.machine.memory;
  const windowPa = mem.guestLimit; // the window is the monitor-reserved top of RAM
  for (const sec of buildVmm(backend).image.sections) {
    if ((sec.flags & SHF_ALLOC) === 0 || sec.flags & SHF_WRITE || !sec.data.length) continue;
    const at = windowPa + (sec.addr - WINDOW_BACKED);
    expect(Buffer.from(mem.u8.subarray(at, at + sec.data.length)).equals(Buffer.from(sec.data)), `${backend}: VMM ${sec.name} changed`).toBe(true);
  }
}

const exit = (n: number) => ({ kind: "poweroff", exitCode: n & 0xff });

/** Runs `body` on xen and l4 and expects it to power off with `code` and leave the VMM intact. */
function expectOnWedges(text: string, code: number, protect = true): RunElfOutcome[] {
  return WEDGES.map((hv) => {
    const out = run(text, hv, undefined, protect);
    expect(out.result, hv).toEqual(exit(code));
    expectVmmIntact(out, hv);
    return out;
  });
}

describe("MULTICALL (hcall 11) with hostile arguments", () => {
  it("cannot write its results into the in-place VMM's read-only code (the escape)", () => {
    // Entries read from the VMM's .text (readable in virtual supervisor mode): the first "op" is an
    // instruction word, an unknown call whose error result used to be written over the VMM's next word.
    const text = kernel(`
    li   s0, VMM_TEXT
    lw   s1, 4(s0)              # the VMM word the result slot covers
    li   a0, VMM_TEXT
    li   a1, 1
    hcall HC_MULTICALL
    mv   s2, a0
    lw   t1, 4(s0)
    li   a0, 1
    bne  t1, s1, .Lout          # the VMM changed: exit 1
    mv   a0, s2
.Lout:
`);
    // Without the VMM's protection domain the kernel can read the VMM's text itself (the test's premise)…
    expectOnWedges(text, HC_ERROR.FAULT, false);
    // …with it (the default), that first read is already a protection fault (cause 10: exit 110).
    expectOnWedges(text, 110);
  });

  it("cannot write into a page the guest mapped read-only", () => {
    const text = kernel(`
    li   s0, 0x20000            # read-only for the guest: a direct sw here is a store fault
    li   t0, ${HC.YIELD}
    sw   t0, 0(s0)              # (written before paging? no: paging is on; this store faults)
`, { paging: true });
    // The direct store really is refused to the guest (cause 6, store page fault)…
    for (const hv of ALL) expect(run(text, hv).result, hv).toEqual(exit(106));
    // …and so is the multicall's write-back into the same page (its entry readable: op YIELD, zeros).
    const mc = kernel(`
    li   s0, 0x20000
    lw   s1, 4(s0)
    li   a0, 0x20000
    li   a1, 1
    hcall HC_MULTICALL
    lw   t1, 4(s0)
    bne  t1, s1, .Lbad
    j    .Lout
.Lbad:
    li   a0, 1
.Lout:
`, { paging: true });
    expectOnWedges(mc, HC_ERROR.FAULT);
  });

  it("cannot write into a page directory xen write-protects (l4 has none: the guest's own memory)", () => {
    // The entry {SET_CALLBACKS, 2} sits in the page directory's unused tail (0x10F00): xen emulates each
    // direct store there; the result (INVAL) of the call would land in the directory, unvalidated.
    const text = kernel(`
    li   t0, 0x10F00
    li   t1, ${HC.SET_CALLBACKS}
    sw   t1, 0(t0)              # (xen: a trapped, emulated page-directory write)
    li   t1, 2
    sw   t1, 4(t0)
    mv   a0, t0
    li   a1, 1
    hcall HC_MULTICALL
    li   t0, 0x10F04
    lw   t1, 0(t0)
    li   t2, 2
    beq  t1, t2, .Lsame         # the slot still holds what the guest wrote
    addi a0, a0, 0x80
.Lsame:
`, { paging: true });
    const xen = run(text, "xen");
    expect(xen.result).toEqual(exit(HC_ERROR.FAULT));
    expect(xen.stats.counts["xen:ptwrite.emulated"]).toBe(2);
    expectVmmIntact(xen, "xen");
    // l4 does not protect page tables: the result lands, as the guest's own store would; 1 entry done.
    expect(run(text, "l4").result).toEqual(exit(1 + 0x80));
  });

  for (const [what, a0, a1, code] of [
    ["a count above 16", "0x8000", "17", HC_ERROR.INVAL],
    ["a negative count", "0x8000", "-1", HC_ERROR.INVAL],
    ["a misaligned array", "0x8002", "1", HC_ERROR.FAULT],
    ["an array wrapping around 2^32", "0xFFFFFFF0", "2", HC_ERROR.FAULT],
    ["an array outside RAM", "0x7FFF0000", "1", HC_ERROR.FAULT],
    ["an array in the unbacked window", "0xFFC00000", "1", HC_ERROR.FAULT],
    ["an array above the stubs (unmapped)", "0xFFFFF000", "1", HC_ERROR.FAULT],
  ] as const) {
    it(`refuses ${what}`, () => {
      expectOnWedges(kernel(`    li a0, ${a0}\n    li a1, ${a1}\n    hcall HC_MULTICALL`), code);
    });
  }

  it("refuses nested MULTICALL, IRET and EMULATE, and answers an unknown op with NOSYS in its slot", () => {
    for (const [op, code] of [[HC.MULTICALL, HC_ERROR.INVAL], [HC.IRET, HC_ERROR.INVAL], [HC.EMULATE, HC_ERROR.INVAL]] as const) {
      expectOnWedges(kernel(`    li t0, 0x8000\n    li t1, ${op}\n    sw t1, 0(t0)\n    mv a0, t0\n    li a1, 1\n    hcall HC_MULTICALL`), code);
    }
    expectOnWedges(kernel(`    li t0, 0x8000\n    li t1, 0x7777\n    sw t1, 0(t0)\n    mv a0, t0\n    li a1, 1\n    hcall HC_MULTICALL\n    lw a0, 4(t0)`), HC_ERROR.NOSYS);
  });
});

describe("MMU_UPDATE (hcall 2) with hostile arguments", () => {
  for (const [what, a0, a1, code] of [
    ["a count above 64", "0x8000", "65", HC_ERROR.INVAL],
    ["a negative count", "0x8000", "-5", HC_ERROR.INVAL],
    ["a misaligned array", "0x8004+1", "1", HC_ERROR.FAULT],
    ["an array wrapping around 2^32", "0xFFFFFFF8", "2", HC_ERROR.FAULT],
    ["an array outside RAM (nothing applied)", "0x7FFF0000", "1", 0],
  ] as const) {
    it(`refuses ${what}`, () => {
      expectOnWedges(kernel(`    li a0, ${a0}\n    li a1, ${a1}\n    hcall HC_MMU_UPDATE`), code);
    });
  }

  it("refuses entries aimed at the window, outside RAM, at a read-only page, or mapping a frame outside RAM", () => {
    for (const [ptr, value] of [["VPSR", "7"], ["VMM_TEXT", "0"], ["0x7FFF0000", "0"], ["0x20000", "0"], ["0x9000", "0x7FFFF001"]]) {
      const text = kernel(`
    li   t0, 0x8000
    li   t1, ${ptr}
    sw   t1, 0(t0)
    li   t1, ${value}
    sw   t1, 4(t0)
    li   s0, 0x20000
    lw   s1, 0(s0)
    mv   a0, t0
    li   a1, 1
    hcall HC_MMU_UPDATE           # → number applied: 0
    lw   t1, 0(s0)
    beq  t1, s1, .Lout
    li   a0, 9                    # the read-only page changed
.Lout:
`, { paging: true });
      const outs = expectOnWedges(text, 0);
      outs.forEach((o, i) => expect(o.stats.counts[`${WEDGES[i]}:mmu_update.refused`], `${WEDGES[i]} ${ptr}`).toBeGreaterThanOrEqual(1));
    }
  });
});

describe("the other hypercalls with hostile arguments", () => {
  it("SET_CALLBACKS (1): a misaligned callback is INVAL; one outside RAM or in the window ends in a diagnosis at the first event", () => {
    expectOnWedges(kernel(`    li a0, 0x1002\n    hcall HC_SET_CALLBACKS`), HC_ERROR.INVAL);
    for (const cb of ["0x7FFFF000", "0xFFFFF000", "0xFFC00000"]) {
      for (const hv of WEDGES) {
        const out = run(kernel(`    li a0, ${cb}\n    hcall HC_SET_CALLBACKS\n    brk`), hv);
        expect(out.result.kind === "stopped" && out.result.reason, `${hv} ${cb}`).toBe("crash");
        if (out.result.kind === "stopped") expect(out.result.message, `${hv} ${cb}`).toMatch(/at the trap handler entry|the in-place VMM faulted/);
        expectVmmIntact(out, hv);
      }
    }
  });

  it("NEW_BASEPTR (3): a page directory outside guest RAM (or in the window's frames) is INVAL and changes nothing", () => {
    for (const pd of ["0x7FFFF000", "0xFFFFF000", "0x03FE0000"]) {
      expectOnWedges(kernel(`    li a0, ${pd}\n    hcall HC_NEW_BASEPTR\n    mfcr t0, ptbr\n    beqz t0, .Lout\n    li a0, 1\n.Lout:`), HC_ERROR.INVAL);
    }
  });

  it("SET_PAGING (4) with every bit set, and a page directory of zeros: the guest faults, diagnosed", () => {
    for (const hv of WEDGES) {
      const out = run(kernel(`    li a0, -1\n    hcall HC_SET_PAGING\n    li a0, 0\n`), hv);
      expect(out.result.kind, hv).toBe("stopped");
      if (out.result.kind === "stopped") expect(out.result.diagnosis.length, hv).toBeGreaterThan(0);
    }
  });

  it("TLB_FLUSH (5) and TLB_INVLPG (6) of window, unaligned and out-of-RAM addresses only drop translations", () => {
    expectOnWedges(kernel(`    hcall HC_TLB_FLUSH\n    li a0, VPSR\n    hcall HC_TLB_INVLPG\n    li a0, 0xFFFFFFFF\n    hcall HC_TLB_INVLPG\n    li a0, 0x7FFF0003\n    hcall HC_TLB_INVLPG\n    li a0, 3`, { paging: true }), 3);
  });

  it("SET_TIMER (7) with a 1-cycle or a huge period, interrupts masked: the run still ends", () => {
    for (const period of ["1", "-1"]) {
      for (const hv of WEDGES) {
        const out = run(kernel(`    li a0, ${period}\n    hcall HC_SET_TIMER\n    li a0, 7`), hv);
        expect(out.result, `${hv} ${period}`).toEqual(exit(7));
      }
    }
  });

  it("BLOCK (8) with events masked and nothing to wait for is a hlt deadlock, as hlt is on bare metal", () => {
    for (const hv of WEDGES) {
      const out = run(kernel(`    hcall HC_BLOCK`), hv);
      expect(out.result.kind === "stopped" && out.result.reason, hv).toBe("hlt-deadlock");
    }
  });

  it("IRET (9) into the window in user mode is the user's page fault, delivered to the kernel", () => {
    // epc = the VMM's EMULATE entry, epsr = user mode: the user process cannot run the VMM's code.
    const text = kernel(`
    li   t0, VMM_TEXT+0x10
    mtcr epc, t0
    mtcr epsr, zero
    hcall HC_IRET
`);
    expectOnWedges(text, 104); // cause 4: fetch page fault
  });

  it("iret into the window with SU=0 on every back end: a fault delivered to the kernel, never the VMM running", () => {
    const text = kernel(`
    li   t0, 0xFFFE0010
    mtcr epc, t0
    mtcr epsr, zero
    iret
`);
    for (const hv of WEDGES) expect(run(text, hv).result, hv).toEqual(exit(104));
    // bare, hvm and trap have no window: the address is beyond RAM, a bus error.
    for (const hv of ["bare", "hvm", "trap"]) expect(run(text, hv).result, hv).toEqual(exit(109));
  });

  it("SHUTDOWN (10): the exit code is the low byte of any a0", () => {
    expectOnWedges(kernel(`    li a0, 0x12345\n    hcall HC_SHUTDOWN\n    li a0, 1`), 0x45);
  });

  it("EVENTS (12) and YIELD (16) with garbage arguments change nothing", () => {
    expectOnWedges(kernel(`    li a0, -1\n    li a1, -1\n    hcall HC_EVENTS\n    hcall HC_YIELD\n    li a0, 5`), 5);
  });

  it("EMULATE (13) from no site (k0 garbage, or a window address) emulates nothing and keeps the registers", () => {
    for (const k0 of ["0", "0xFFFE0014", "0x12345678"]) {
      expectOnWedges(kernel(`    li k0, ${k0}\n    li a0, 6\n    hcall HC_EMULATE`), 6);
    }
  });

  it("PORT_READ (14) and PORT_WRITE (15): a port above 0xFFFF is INVAL, never truncated to another device's port", () => {
    // 0x1F0 truncated to 8 bits is 0xF0, the power device: writing it used to power the guest off with a1.
    expectOnWedges(kernel(`    li a0, 0x100F0\n    li a1, 3\n    hcall HC_PORT_WRITE`), HC_ERROR.INVAL);
    expectOnWedges(kernel(`    li a0, 0x10010\n    hcall HC_PORT_READ`), HC_ERROR.INVAL);
    // A port in range reaches its device as `in`/`out` would: 0x1F0 is no device (reads -1… as on bare).
    expect(run(kernel(`    li a0, 0x1F0\n    li a1, 3\n    hcall HC_PORT_WRITE\n    li a0, 4`), "xen").result).toEqual(exit(4));
  });

  it("CONSOLE_WRITE (0) of a word with high bits writes its low byte only", () => {
    for (const hv of WEDGES) {
      const out = run(kernel(`    li a0, 0x1234541\n    hcall HC_CONSOLE_WRITE\n    li a0, 0`), hv);
      expect(out.result, hv).toEqual(exit(0));
      expect(out.console, hv).toBe("A");
    }
  });

  it("an unknown number (the first unused one, the largest immediate) or any hcall from a user process is an illegal instruction for the kernel", () => {
    const unused = Math.max(...Object.values(HC)) + 1;
    for (const n of [String(unused), "0x3FFFF"]) expectOnWedges(kernel(`    hcall ${n}`), 101);
    const user = kernel(`
    la   t0, .Luser
    mtcr epc, t0
    mtcr epsr, zero
    iret
.Luser:
    li   a0, 0x8000
    li   a1, 1
    hcall HC_MULTICALL
`);
    expectOnWedges(user, 101);
  });
});

describe("hostile guests on every back end", () => {
  it("page tables pointing outside RAM and at the window's frames are bus errors for the guest", () => {
    for (const frame of ["0x7FFFF000", "0x03FE0000"]) {
      const text = kernel(`
    li   t0, 0x30000
    lw   a0, 0(t0)
    li   t1, 0x1234
    sw   t1, 0(t0)
`, { paging: true, beforePaging: `    li t0, 0x11000+4*0x30
    li t1, ${frame}+7
    sw t1, 0(t0)     # PTE of page 0x30000 -> ${frame}` });
      for (const hv of ALL) {
        const out = run(text, hv);
        const wedge = hv === "xen" || hv === "l4";
        // The window's frames are the top of RAM, reserved by xen and l4 only: elsewhere plain RAM.
        expect(out.result, `${hv} ${frame}`).toEqual(exit(frame === "0x7FFFF000" || wedge ? 109 : 0));
        if (wedge) expectVmmIntact(out, hv);
      }
    }
  });

  it("a direct write into a live page table or directory mapping a frame outside RAM: a bus error at use everywhere", () => {
    for (const [entry, va] of [["0x11000+4*0x30", "0x30000"], ["0x10000+4*2", "0x800000"]]) {
      const text = kernel(`
    li   t0, ${entry}           # in a page table (directory) xen has walked: write-protected
    li   t1, 0x7FFFF007
    sw   t1, 0(t0)
    li   t0, ${va}
    tlbinv t0
    lw   a0, 0(t0)
`, { paging: true });
      for (const hv of ALL) expect(run(text, hv).result, `${hv} ${entry}`).toEqual(exit(109));
      const xen = run(text, "xen");
      // xen let the write through (an unhooked page table, or an emulated directory write) and counted it invalid.
      expect(xen.stats.counts["xen:ptwr.invalid"], entry).toBe(1);
      expectVmmIntact(xen, "xen");
    }
  });

  it("a trap vector in the window: the first fault is diagnosed, the VMM never runs as the handler", () => {
    const text = kernel(`
    li   t0, 0xFFFE0010
    mtcr tvec, t0
    brk
`);
    for (const hv of ALL) {
      const out = run(text, hv);
      expect(out.result.kind, hv).toBe("stopped");
      if (out.result.kind === "stopped") expect(out.result.diagnosis.length, hv).toBeGreaterThan(0);
      if (hv === "xen" || hv === "l4") expectVmmIntact(out, hv);
    }
  });
});
