// A crash diagnosis describes the guest alike on every back end.
//
// The psr and control registers the guest sees: under a monitor the real
// CPU's may be the host's (trap, xen and l4 run the kernel in user mode;
// hvm and trap shadow ptbr and pgctl), so the diagnosis adds the guest's
// own, and those equal bare metal's.
//
// A guest that halts with nothing that could ever wake it ends with the same
// message on every back end, and its diagnosis shows where the CPU really
// stopped. Under xen and l4 the guest's `hlt` is a site that calls into the
// in-place VMM's window, where a hypercall halts: the message must follow
// the guest's virtual IE (the real psr's is the host's), the pc must be that
// hypercall (not the instruction before it, which never ran), and the
// window's instructions must be listed (the guest's page tables do not map
// the window; the monitor's translation in the TLB does).
//
// Code that ran through a mapping since removed is read through the TLB
// entry the CPU still holds, else through the guest's page tables as they
// are now — the guest's, also under a shadow pager (hvm, trap), whose real
// pgctl is 0: the real walk read the physical address instead and listed
// words the guest never ran. Real guests, annotated and assembled, on the
// real emulator.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { backends, runElf } from "../../src/hypervisors/index.js";

const BACKENDS = [...backends.keys()];

function build(text: string) {
  return assemble([{ file: "halt.s", text: annotate("halt.s", text).text }]);
}

const halting = (ie: "cli" | "sti") => `
    .text
    .global _start
_start:
    ${ie}
    hlt
`;

/** The listing's lines: address and text. */
function listing(diagnosis: string): { pc: number; text: string }[] {
  const lines = diagnosis.split("\n");
  const from = lines.findIndex((l) => l.trim() === "last instructions:");
  return lines.slice(from + 1).filter((l) => /^ {4}0x/.test(l)).map((l) => {
    const [, pc, text] = /^ {4}(0x[0-9a-f]{8}):\s+(.*)$/.exec(l)!;
    return { pc: Number(pc), text };
  });
}

/** The psr and control-register lines as the guest sees them: the monitor's virtual ones when shown, else the real ones. */
function guestView(diagnosis: string): { psr: string; cr: string } {
  const lines = diagnosis.split("\n");
  const virtual = lines.findIndex((l) => l.startsWith("  as the guest sees them ("));
  if (virtual >= 0) return { psr: /psr (0x[0-9a-f]{8})/.exec(lines[virtual])![1], cr: lines[virtual + 1].trim() };
  return { psr: /psr (0x[0-9a-f]{8})/.exec(lines[0])![1], cr: lines.find((l) => l.startsWith("  tvec="))!.trim() };
}

describe("the guest's psr and control registers", () => {
  it("a kernel that turns paging on over an empty page directory: every back end shows bare's registers", () => {
    const image = build(`
    .text
    .global _start
_start:
    li   t0, 0x200000
    mtcr ptbr, t0
    la   t0, 0x3000
    mtcr scratch, t0
    li   t0, 1
    mtcr pgctl, t0
    nop                         # its fetch faults: nothing maps it now
`);
    const views = new Map(BACKENDS.map((backend) => {
      const r = runElf(image, { backend, maxCycles: 1_000_000 }).result;
      expect(r.kind, backend).toBe("stopped");
      return [backend, r.kind === "stopped" ? guestView(r.diagnosis) : undefined];
    }));
    const bare = views.get("bare")!;
    expect(bare.psr).toBe("0x00000002"); // supervisor, interrupts off
    expect(bare.cr).toContain("ptbr=0x00200000");
    expect(bare.cr).toContain("pgctl=0x00000001");
    for (const [backend, view] of views) expect(view, backend).toEqual(bare);
  });
});

describe("a hlt that nothing can wake", () => {
  for (const [ie, message] of [
    ["cli", "hlt with interrupts disabled and nothing pending"],
    ["sti", "hlt with no device event that could wake the CPU"],
  ] as const) {
    it(`after ${ie}: every back end says "${message}" and lists the instruction it halted at`, () => {
      const image = build(halting(ie));
      for (const backend of BACKENDS) {
        const out = runElf(image, { backend, maxCycles: 1_000_000 });
        const r = out.result;
        expect(r.kind, backend).toBe("stopped");
        if (r.kind !== "stopped") continue;
        expect(r.reason, backend).toBe("hlt-deadlock");
        expect(r.message, backend).toBe(message);
        const pc = Number(/^ {2}pc +(0x[0-9a-f]{8})/.exec(r.diagnosis)![1]);
        const shown = listing(r.diagnosis);
        expect(shown.length, backend).toBeGreaterThan(1);
        expect(shown.filter((l) => l.text.startsWith("<")), backend).toEqual([]);
        // The last instruction listed is the one at pc, and it is what halted the CPU.
        const last = shown[shown.length - 1];
        expect(last.pc, backend).toBe(pc);
        // And the machine stopped there (a hypercall that halted for good does not move past itself).
        expect(out.machine.pc >>> 0, backend).toBe(pc);
        expect(last.text, backend).toMatch(/\b(hlt|hcall)\b/);
      }
    });
  }
});

describe("code that ran through mappings removed since", () => {
  it("fixtures/guests/unmapped-code.s: every back end lists what bare lists — <not mapped now> where the TLB dropped the page, the words where it holds it", () => {
    const image = build(readFileSync(new URL("../../fixtures/guests/unmapped-code.s", import.meta.url), "utf8"));
    /** The listing's lines at the two unmapped pages (xen and l4 also list their window's instructions). */
    const farLines = (backend: string) => {
      const r = runElf(image, { backend, maxCycles: 1_000_000 }).result;
      if (r.kind !== "stopped") throw new Error(`${backend}: the guest did not stop`);
      return listing(r.diagnosis).filter((l) => l.pc >>> 13 === 0x480000 >>> 13);
    };
    const bare = farLines("bare");
    expect(bare).toEqual([
      { pc: 0x480000, text: "<not mapped now>" },
      { pc: 0x480004, text: "<not mapped now>" },
      { pc: 0x481000, text: expect.stringMatching(/^[0-9a-f]{8} {2}addi +a0, a0, 1$/) },
      { pc: 0x481004, text: expect.stringMatching(/^[0-9a-f]{8} {2}ret$/) },
    ]);
    for (const backend of BACKENDS) expect(farLines(backend), backend).toEqual(bare);
  });
});
