// The VMM as a confused deputy (docs/protection.md, "What the VMM checks on
// a caller's behalf"): every access a monitor or the memory supervisor
// makes for a guest's protection domain is judged as that domain's own,
// reads as well as writes. A hostile module (test-only sources, with the
// Mondrix variant's entry.s: a fault powers off with 100 + cause) whose
// kernel hides a few words from it (no permission) tries to have them read
// for it:
// - MULTICALL (xen, l4) of an entry whose op and arguments it may not read:
//   refused (FAULT) — else the VMM runs PORT_WRITE(console, secret) and the
//   secret is on the console;
// - MMU_UPDATE (xen, l4) of a batch whose value it may not read: refused —
//   else the VMM copies the secret into a word the module reads;
// - a lock or unlock site (xen, l4; --spinlocks native, pv, delayed): its
//   store or amoswap on a kernel word the module may only read is a
//   protection fault also where the site is the VMM's template in a stub —
//   else the stub stores with the VMM's rights; and EMULATE forged for the
//   module's own lock site with the kernel's word in its base register
//   takes nothing (pv) — else the monitor takes the lock word for it;
// - the memory supervisor (every back end): the module cannot read the
//   kernel's call arguments (−1), and its writes to them are ignored — else
//   it redirects the kernel's GRANT and reads the word the kernel meant to
//   hide;
// - the shared page-table queue of a para-virtualized image (xen
//   --paravirt): a module's store into it is a protection fault — else the
//   monitor applies its entry, writing a kernel word the module may only
//   read; its MMU_UPDATE of the queue neither applies nor empties it (the
//   kernel's entry would be lost); the monitor applies the queue as domain
//   0's (a word domain 0 made read-only for itself is not written).
// Interpreter = JIT in every case; --no-protect shows each leak happening.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildSources } from "../../src/cli/build-pipeline.js";
import { encodeInstruction } from "../../src/guest-isa/encoding.js";
import { CAUSE, REG } from "../../src/guest-isa/registers.js";
import { runElf } from "../../src/hypervisors/index.js";
import { xenGuestDefines } from "../../src/hypervisors/xen/abi.js";
import { MODULE_HYPERCALLS, PUT_SMALL, supervisorCall } from "./guest-snippets.js";

const ROOT = join(import.meta.dirname, "..", "..");
const ENTRY = { file: "fixtures/mondrix/entry.s", text: readFileSync(join(ROOT, "fixtures", "mondrix", "entry.s"), "utf8") };
const ENGINES = ["interp", "jit"] as const;

type Image = ReturnType<typeof buildSources>["image"];
const run = (image: Image, backend: string, protect: boolean, engine: (typeof ENGINES)[number], spinlocks?: string) =>
  runElf(image, { backend, protect, engine, jitThreshold: 1, maxCycles: 20_000_000, spinlocks });

/** Both engines' runs, which must agree on every simulated result. */
function both(image: Image, backend: string, protect: boolean, spinlocks?: string) {
  const [i, j] = ENGINES.map((e) => run(image, backend, protect, e, spinlocks));
  expect(j.console).toBe(i.console);
  expect(j.result).toEqual(i.result);
  expect(j.stats).toEqual(i.stats);
  return i;
}

const SUPERVISOR_CALL = supervisorCall(0);

// ---------------------------------------------------------------- hypercalls that read for the caller

/**
 * The kernel: \`secret\` = {PORT_WRITE, _, 'S', 0}; the module may not read
 * it, and may only write its second word (a MULTICALL entry's result slot,
 * an MMU_UPDATE pair's address). \`leak\` is the module's. Prints the
 * module's leak (its word, '.' when untouched) and a newline.
 */
const HC_KERNEL = `
import { addressOf, inPort, outPort, PORT } from "previrt/guest";
import { modAct, modBegin, modEnd } from "./module.js";

const secret = new Int32Array(4);
const leak = new Int32Array(1);
${SUPERVISOR_CALL}
export function main(): number {
  const mod = call(1, addressOf(modBegin), addressOf(modEnd), 0);
  secret[0] = 15;
  secret[2] = 83;
  call(2, mod, addressOf(secret), 16);
  perm = 2;
  call(2, mod, addressOf(secret) + 4, 4);
  modAct(addressOf(secret), addressOf(leak));
  outPort(PORT.console, leak[0] === 0 ? 46 : leak[0]);
  outPort(PORT.console, 10);
  return 0;
}
`;

type HcAct = "multi" | "mmu";
const HC_ACTS: Record<HcAct, string> = {
  // The entry {secret[0], console port, secret[2], secret[3]}: the module writes only its a0.
  multi: "store32(s + 4, 0x10);\n  multicall(s, 1);",
  // The pair (leak, secret[2]): the module writes only its address.
  mmu: "store32(s + 4, leak);\n  mmuUpdate(s + 4, 1);",
};

const hcModule = (act: HcAct) => `
import { asm, store32 } from "previrt/guest";

${MODULE_HYPERCALLS}

export function modAct(s: number, leak: number): number {
  ${HC_ACTS[act]}
  return 0;
}

export function modEnd(): number {
  return 0;
}
`;

const hcImage = (act: HcAct) => buildSources([ENTRY, { file: "kernel.ts", text: HC_KERNEL }, { file: "module.ts", text: hcModule(act) }]).image;

describe("a hypercall reads for the caller only what the caller may read", () => {
  const multi = hcImage("multi");
  const mmu = hcImage("mmu");
  for (const hv of ["xen", "l4"]) {
    it(`${hv}: MULTICALL of an entry the module may not read is refused (--no-protect: the VMM prints the secret)`, () => {
      const on = both(multi, hv, true);
      expect(on.result).toEqual({ kind: "poweroff", exitCode: 0 });
      expect(on.console).toBe(".\n");
      expect(on.stats.counts[`${hv}:multicall.PORT_WRITE`]).toBeUndefined();
      expect(both(multi, hv, false).console).toBe("S.\n");
    });
    it(`${hv}: MMU_UPDATE of a pair whose value the module may not read is refused (--no-protect: the VMM copies the secret)`, () => {
      const on = both(mmu, hv, true);
      expect(on.result).toEqual({ kind: "poweroff", exitCode: 0 });
      expect(on.console).toBe(".\n");
      expect(on.stats.counts[`${hv}:mmu_update.refused`]).toBe(1);
      expect(both(mmu, hv, false).console).toBe("S\n");
    });
  }
});

// ---------------------------------------------------------------- a site's own access to guest memory

/**
 * The kernel's words {5, 0}, which the module may only read; modAct(words)
 * tries to change them. Prints both words. Below: the module releases the
 * first (spinUnlock: a store of 0) or takes the second (spinLock: an
 * amoswap of 1), at a lock or unlock site. Under --spinlocks pv|delayed
 * those sites are the VMM's code (a stub's template in the window)
 * performing the module's instruction.
 */
const READ_ONLY_KERNEL = `
import { addressOf, inPort, outPort, PORT } from "previrt/guest";
import { modAct, modBegin, modEnd } from "./module.js";

const words = new Int32Array(4);
${SUPERVISOR_CALL}
export function main(): number {
  const mod = call(1, addressOf(modBegin), addressOf(modEnd), 0);
  words[0] = 5;
  perm = 1;
  call(2, mod, addressOf(words), 16);
  modAct(addressOf(words));
  outPort(PORT.console, 48 + words[0]);
  outPort(PORT.console, 48 + words[1]);
  outPort(PORT.console, 10);
  return 0;
}
`;

const lockModule = (act: string) => `
import { spinLock, spinUnlock } from "previrt/guest";

export function modBegin(): number {
  return 0;
}

export function modAct(at: number): number {
  ${act}
  return 0;
}

export function modEnd(): number {
  return 0;
}
`;

/**
 * The module's own lock site (on its own word), then EMULATE called for that
 * site — k0 its return address — with the kernel's word in the site's base
 * register: the monitor's half of the pv lock would take the word for it.
 */
const FORGING_MODULE = `
    .text
    .global modBegin
modBegin:
    ret
    .global modAct
modAct:
    la   t1, own
    li   t0, 1
    .sensitive lock
.Lsite:
    amoswap t0, t0, 0(t1)
    addi t1, a0, 4
    li   t0, 7
    la   t2, .Lsite
    .word ${encodeInstruction("addi", { a: REG.k0, b: REG.t2, imm: 4 })}   # addi k0, t2, 4 (the assembler keeps k0 from guest code; a hostile module need not)
    hcall 13
    li   a0, 0
    ret
    .global modEnd
modEnd:
    ret
    .data
own:
    .word 0
`;

describe("a lock or unlock site's access is the module's (--spinlocks pv, delayed)", () => {
  const forging = buildSources([ENTRY, { file: "kernel.ts", text: READ_ONLY_KERNEL }, { file: "module.s", text: FORGING_MODULE }]).image;
  for (const hv of ["xen", "l4"]) {
    it(`${hv} --spinlocks pv: EMULATE forged for the module's own lock site takes no kernel word it may only read (--no-protect: it does)`, () => {
      const on = both(forging, hv, true, "pv");
      expect(on.console).toBe("50\n");
      expect(on.result).toEqual({ kind: "poweroff", exitCode: 0 });
      expect(on.stats.counts[`${hv}:pv.badLock`]).toBe(1);
      expect(both(forging, hv, false, "pv").console).toBe("57\n");
    });
  }

  const lockImage = (act: string) => buildSources([ENTRY, { file: "kernel.ts", text: READ_ONLY_KERNEL }, { file: "module.ts", text: lockModule(act) }]).image;
  const unlock = lockImage("spinUnlock(at);");
  const lock = lockImage("spinLock(at + 4);");
  for (const hv of ["xen", "l4"]) {
    for (const cure of ["native", "pv", "delayed"]) {
      it(`${hv} --spinlocks ${cure}: the module's unlock and lock of kernel words it may only read are protection faults (--no-protect: they store)`, () => {
        for (const [image, off] of [[unlock, "00\n"], [lock, "51\n"]] as const) {
          const on = both(image, hv, true, cure);
          expect(on.console).toBe("");
          expect(on.result).toEqual({ kind: "poweroff", exitCode: 100 + CAUSE.PROTECTION_FAULT });
          expect(both(image, hv, false, cure).console).toBe(off);
        }
      });
    }
  }
});

// ---------------------------------------------------------------- the memory supervisor's arguments

/**
 * The kernel writes a GRANT hiding \`hidden\` from the module (no permission)
 * into ARG0..ARG3, lets the module run, then makes the call: the module
 * reads ARG0 (the kernel's argument) and points ARG1 elsewhere, and makes a
 * call of its own before the kernel reads the result; then it reads
 * \`hidden\`. Prints what the module read of ARG0, the call's result,
 * and (if the module's read of \`hidden\` did not fault) 'r'.
 */
const SV_KERNEL = `
import { addressOf, inPort, outPort, PORT } from "previrt/guest";
import { modCall, modPeek, modBegin, modEnd, modMeddle } from "./module.js";

const hidden = new Int32Array(4);
const other = new Int32Array(4);
${SUPERVISOR_CALL}
${PUT_SMALL}

export function main(): number {
  const mod = call(1, addressOf(modBegin), addressOf(modEnd), 0);
  outPort(0x50, mod);
  outPort(0x51, addressOf(hidden));
  outPort(0x52, 16);
  outPort(0x53, 0);
  put(modMeddle(addressOf(other)));
  outPort(0x54, 2);
  modCall();
  put(inPort(0x54));
  modPeek(addressOf(hidden));
  outPort(PORT.console, 114);
  outPort(PORT.console, 10);
  return 0;
}
`;

const SV_MODULE = `
import { inPort, load32, outPort } from "previrt/guest";

export function modBegin(): number {
  return 0;
}

/** Reads the kernel's pending ARG0 and points its ARG1 at \`elsewhere\`. */
export function modMeddle(elsewhere: number): number {
  const seen = inPort(0x50);
  outPort(0x51, elsewhere);
  return seen;
}

/** A call of its own (an unknown op) between the kernel's call and its read of the result. */
export function modCall(): number {
  outPort(0x54, 99);
  return 0;
}

export function modPeek(at: number): number {
  return load32(at);
}

export function modEnd(): number {
  return 0;
}
`;

describe("the memory supervisor's arguments are domain 0's", () => {
  const pre = buildSources([ENTRY, { file: "kernel.ts", text: SV_KERNEL }, { file: "module.ts", text: SV_MODULE }]).image;
  for (const hv of ["bare", "hvm", "trap", "xen", "l4"]) {
    it(`${hv}: the module reads -1 for ARG0, its writes to ARG1 and CALL are ignored, the kernel's GRANT hides the word (a protection fault)`, () => {
      const on = both(pre, hv, true);
      expect(on.console).toBe("-1 0 ");
      expect(on.result).toEqual({ kind: "poweroff", exitCode: 100 + CAUSE.PROTECTION_FAULT });
      // Unprotected: one domain, every caller's call counts (the module's unknown op leaves -2); the module reads the kernel's ARG0 (the "domain" 1).
      expect(both(pre, hv, false).console).toBe("1 -2 r\n");
    });
  }
});

// ---------------------------------------------------------------- a para-virtualized image (xen --paravirt)

describe("xen --paravirt: the supervisor through PORT_READ/PORT_WRITE, the page-table queue", () => {
  // No entry.s (a para-virtualized build takes no privileged assembly): a fault ends the run with the diagnosis.
  const sv = buildSources([{ file: "kernel.ts", text: SV_KERNEL }, { file: "module.ts", text: SV_MODULE }], { paravirt: "xen" }).image;
  it("the module's PORT_READ of ARG0 is -1, its PORT_WRITE of ARG1 is ignored: the kernel's GRANT hides the word", () => {
    const on = both(sv, "xen", true);
    expect(on.console).toBe("-1 0 ");
    expect(on.stats.exceptions["protection-fault"]).toBeGreaterThan(0);
    expect(on.result.kind).not.toBe("poweroff");
    expect(both(sv, "xen", false).console).toBe("1 -2 r\n");
  });

  // The module (read-only on the kernel's word) queues (word, 7) in the shared queue and flushes the TLB,
  // at which the monitor applies the queue.
  const abi = xenGuestDefines();
  const queueModule = `
import { store32, tlbFlush } from "previrt/guest";

export function modBegin(): number {
  return 0;
}

export function modAct(at: number): number {
  store32(${abi.__xen_QUEUE >>> 0}, at);
  store32(${(abi.__xen_QUEUE + 4) >>> 0}, 7);
  store32(${abi.__xen_QCOUNT >>> 0}, 1);
  tlbFlush();
  return 0;
}

export function modEnd(): number {
  return 0;
}
`;
  const queue = buildSources([{ file: "kernel.ts", text: READ_ONLY_KERNEL }, { file: "module.ts", text: queueModule }], { paravirt: "xen" }).image;
  it("the module's store into the page-table queue is a protection fault (--no-protect: the monitor writes the kernel's word)", () => {
    const on = both(queue, "xen", true);
    expect(on.console).toBe("");
    expect(on.stats.exceptions["protection-fault"]).toBeGreaterThan(0);
    expect(both(queue, "xen", false).console).toBe("70\n");
  });

  it("the kernel's own queued updates are applied as before, with a guest domain defined (domain 0 may write the queue)", () => {
    // Through the queue: one applied at a TLB flush (the monitor's applyQueue), one by the runtime's MMU_UPDATE (readPte).
    const own = READ_ONLY_KERNEL
      .replace("import { addressOf, inPort, outPort, PORT }", "import { addressOf, inPort, outPort, PORT, readPte, tlbFlush, writePte }")
      .replace("  modAct(addressOf(words));\n", "  writePte(addressOf(words) + 4, 3);\n  tlbFlush();\n  writePte(addressOf(words) + 8, 4);\n  outPort(PORT.console, 48 + readPte(addressOf(words) + 8));\n");
    const image = buildSources([{ file: "kernel.ts", text: own }, { file: "module.ts", text: queueModule }], { paravirt: "xen" }).image;
    for (const protect of [true, false]) {
      const out = both(image, "xen", protect);
      expect(out.console).toBe("453\n"); // readPte's entry, then words[0] and words[1] (the TLB flush's)
      expect(out.result).toEqual({ kind: "poweroff", exitCode: 0 });
      expect(out.stats.counts["xen:mmu_update.entries"]).toBe(2);
    }
  });

  it("the module's MMU_UPDATE on the shared queue neither applies nor empties it: the kernel's queued update is applied at its own TLB flush", () => {
    // The kernel queues (words[1], 3) and calls the module, which asks MMU_UPDATE of the shared queue; the kernel's TLB flush then applies what is queued.
    const flushing = queueModule.replace(/  store32\([^]*tlbFlush\(\);\n/, `  asm("addi a0, zero, ${abi.__xen_QUEUE}");\n  asm("addi a1, zero, 1");\n  asm("hcall 2");\n`).replace("import { store32, tlbFlush }", "import { asm }");
    const kernel = READ_ONLY_KERNEL.replace("import { addressOf, inPort, outPort, PORT }", "import { addressOf, inPort, outPort, PORT, tlbFlush, writePte }").replace(
      "  modAct(addressOf(words));\n",
      "  writePte(addressOf(words) + 4, 3);\n  modAct(addressOf(words));\n  tlbFlush();\n",
    );
    const image = buildSources([{ file: "kernel.ts", text: kernel }, { file: "module.ts", text: flushing }], { paravirt: "xen" }).image;
    const on = both(image, "xen", true);
    expect(on.console).toBe("53\n");
    expect(on.stats.counts["xen:mmu_update.refused"]).toBe(1); // the module may not read the queue
    expect(on.stats.counts["xen:mmu_update.entries"]).toBe(1); // the kernel's, at its flush
    // Unprotected, the module's call applies the kernel's update itself.
    expect(both(image, "xen", false).console).toBe("53\n");
  });

  it("queued updates are applied as domain 0's: a word domain 0 granted itself read-only is not written (--no-protect: it is)", () => {
    const kernel = READ_ONLY_KERNEL.replace("import { addressOf, inPort, outPort, PORT }", "import { addressOf, inPort, outPort, PORT, tlbFlush, writePte }").replace(
      "  modAct(addressOf(words));\n",
      "  call(2, 0, addressOf(words) + 4, 4);\n  writePte(addressOf(words) + 4, 3);\n  tlbFlush();\n",
    );
    const image = buildSources([{ file: "kernel.ts", text: kernel }, { file: "module.ts", text: queueModule }], { paravirt: "xen" }).image;
    const on = both(image, "xen", true);
    expect(on.console).toBe("50\n");
    expect(on.stats.counts["xen:mmu_update.refused"]).toBe(1);
    expect(both(image, "xen", false).console).toBe("53\n");
  });
});
