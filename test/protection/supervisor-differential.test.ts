// The memory supervisor differentially (docs/protection.md, "Guest-visible
// domains"): seeded random kernels — paging on or off (one page mapped at
// two other virtual pages), DEFINEs of module code (and of ranges that cut
// kernel code or are empty), GRANTs naming real, absent and garbage
// domains, addresses in guest RAM, at the page tables, in the soft-layer
// window, unmapped or huge, sizes empty, negative, unaligned or 2 GiB, and
// bad permissions; between them word, halfword and byte loads and stores and
// atomics from the modules' code and the kernel's, a fault recorded and
// skipped by the handler — must leave the same results on every back end
// and in both engines: each call's answer (a DEFINE's as its sign: the ids
// differ where a monitor has a domain of its own), each access's value and
// fault, and the words they reach. Bare metal is the reference; the
// translation a GRANT names is the guest's own under the shadow pagers of
// hvm and trap (seeds 1 and 15 differ there without it).
import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { runElf } from "../../src/hypervisors/index.js";
import { rng } from "../machine/random-program.js";
import { identityPaging } from "./guest-snippets.js";

const BACKENDS = ["bare", "hvm", "trap", "xen", "l4"] as const;
/** Where the kernel records each operation's outcome; the handler's last cause; the DEFINEs' answers. */
const RESULTS = 0x18000;
const LAST = 0x17ff0;
const HANDLES = 0x17f00;
/** The page paging maps at two more virtual pages (0x300000, 0x301000), and a data area. */
const SHARED = 0x200000;
const DATA = 0x50000;

const ACCESSES = ["lw", "sw", "amo", "sb", "lbu", "sh"] as const;
/** One function per access kind, labelled `${prefix}_${kind}`: address in a1, value in a2, result in a0. */
const accessors = (prefix: string) => `
${prefix}_lw:
    lw   a0, 0(a1)
    jr   lr
${prefix}_sw:
    sw   a2, 0(a1)
    jr   lr
${prefix}_amo:
    amoswap a0, a2, 0(a1)
    jr   lr
${prefix}_sb:
    sb   a2, 1(a1)
    jr   lr
${prefix}_lbu:
    lbu  a0, 3(a1)
    jr   lr
${prefix}_sh:
    sh   a2, 2(a1)
    jr   lr`;

function kernel(seed: number): string {
  const next = rng(seed);
  const r = () => next() / 2 ** 32;
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
  const paging = r() < 0.6;
  const address = () => pick([0x300000, 0x301000, SHARED, SHARED + 0xffc, SHARED + 0x1000, DATA + 4 * Math.floor(r() * 64), DATA + 0x1000, RESULTS, LAST, 0x7fff0, 0x3ff000, 0x400000, 0x1000, 0x1ffc]);
  const lines: string[] = [];
  let n = 0;
  const record = (reg: string) => lines.push(`    sw   ${reg}, ${RESULTS + 4 * n++}(zero)`);
  const ops = 30 + Math.floor(r() * 40);
  for (let i = 0; i < ops; i++) {
    const k = r();
    if (k < 0.2) {
      const m = Math.floor(r() * 3);
      const [a, b] = r() < 0.8 ? [`mod${m}`, `mod${m}End`] : pick([["_start", "mod0"], ["mod0", "mod2End"], ["handler", "handlerEnd"], ["mod1", "mod1"]]);
      lines.push(`    la   t0, ${a}`, "    out  0x50, t0", `    la   t0, ${b}`, "    out  0x51, t0", "    li   t0, 1", "    out  0x54, t0", "    in   t0, 0x54", `    sw   t0, ${HANDLES + 4 * m}(zero)`);
      lines.push(`    blt  t0, zero, .Ldef${i}`, "    li   t0, 1", `.Ldef${i}:`);
      record("t0");
    } else if (k < 0.55) {
      const domain = r() < 0.7 ? `lw   t0, ${HANDLES + 4 * Math.floor(r() * 3)}(zero)` : `li   t0, ${pick([0, 0, 99, -1, 0x7fffffff])}`;
      const va = r() < 0.9 ? address() : pick([0xfffe0000, 0xfffff000, 0x7ffff000, 0xfffffffc]);
      const bytes = pick([4, 8, 4096, 8192, 4092, 0x10000, 0, -4, 3, 0x7ffffffc, 12]);
      lines.push(`    ${domain}`, "    out  0x50, t0", `    li   t0, ${va | 0}`, "    out  0x51, t0", `    li   t0, ${bytes}`, "    out  0x52, t0", `    li   t0, ${pick([0, 1, 2, 3, 0, 1, 5])}`, "    out  0x53, t0", "    li   t0, 2", "    out  0x54, t0", "    in   t0, 0x54");
      record("t0");
    } else {
      const fn = `${pick(["mod0", "mod1", "mod2", "body"])}_${pick(ACCESSES)}`;
      const va = address();
      lines.push(`    li   a1, ${va}`, `    li   a2, ${Math.floor(r() * 1000)}`, "    li   a0, -7", `    jal  lr, ${fn}`);
      record("a0");
      lines.push(`    lw   t0, ${LAST}(zero)`, `    sw   zero, ${LAST}(zero)`);
      record("t0");
    }
  }
  // 0x300000 and 0x301000 -> SHARED.
  const pagingOn = identityPaging([[0x300000, SHARED | 7], [0x301000, SHARED | 7]]);
  return `
    .text
    .global _start
_start:
    li   sp, 0x80000
    la   t0, handler
    mtcr tvec, t0
${paging ? pagingOn : ""}
${lines.join("\n")}
    li   a0, 0
    out  0xF0, a0
${accessors("body")}
${[0, 1, 2].map((m) => `mod${m}:${accessors(`mod${m}`)}\nmod${m}End:\n    nop`).join("\n")}
handler:
    mfcr t3, cause
    sw   t3, ${LAST}(zero)
    mfcr t3, epc
    addi t3, t3, 4
    mtcr epc, t3
    iret
handlerEnd:
    nop
`;
}

describe("random memory-supervisor kernels end as on bare metal", () => {
  it.each([1, 7, 15])("seed %i: every back end and engine leaves bare's results", (seed) => {
    const image = assemble([{ file: `supervisor-${seed}.s`, text: annotate(`supervisor-${seed}.s`, kernel(seed)).text }]);
    const outcome = (backend: string, engine: "interp" | "jit") => {
      const o = runElf(image, { backend, engine, jitThreshold: 1, maxCycles: 5_000_000 });
      const words = (at: number, count: number) => Array.from(o.machine.memory.i32.subarray(at >>> 2, (at >>> 2) + count));
      // How the run ended (a kernel that took its own handler's words away stops in a fault loop), not where: cycles differ.
      const ending = o.result.kind === "poweroff" ? o.result : { kind: o.result.kind, reason: o.result.reason };
      return { ending, results: words(RESULTS, 256), shared: words(SHARED, 1024), data: words(DATA, 64), checks: o.stats.counts["protection.checks"] ?? 0 };
    };
    const bare = outcome("bare", "interp");
    expect(bare.checks).toBeGreaterThan(0); // some grant took effect
    for (const backend of BACKENDS) {
      for (const engine of ["interp", "jit"] as const) {
        const { checks: _, ...rest } = outcome(backend, engine);
        const { checks: __, ...want } = bare;
        expect(rest, `${backend} ${engine}`).toEqual(want);
      }
    }
  });
});
