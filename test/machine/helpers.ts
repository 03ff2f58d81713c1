// Shared pieces of the machine tests: run a program built with program.ts,
// a trap handler that records cause/epc/badva/epsr and powers off.
import { runElf } from "../../src/hypervisors/index.js";
import type { RunImageOptions } from "../../src/machine/run-image.js";
import { CR } from "../../src/guest-isa/registers.js";
import { R, image, type Item, type DataBlock } from "./program.js";

export { CR };
export const mfcr = (rd: number, cr: number): Item => ["mfcr", { a: rd, imm: cr }];
export const mtcr = (cr: number, rs: number): Item => ["mtcr", { imm: cr, b: rs }];

/** Installs `handler` (label) as tvec using t4. */
export const setTvec = (label = "handler"): Item[] => [["la", { a: R.t4, to: label }], mtcr(CR.tvec, R.t4)];

/** A handler that copies cause→s0, epc→s1, badva→s2, epsr→a3 and powers off with 0. */
export const recordingHandler: Item[] = [
  "handler",
  mfcr(R.s0, CR.cause),
  mfcr(R.s1, CR.epc),
  mfcr(R.s2, CR.badva),
  mfcr(R.a3, CR.epsr),
  ["out", { imm: 0xf0, b: R.zero }],
];

export function run(items: Item[], options: RunImageOptions & { data?: DataBlock[]; base?: number } = {}) {
  const out = runElf(image(items, options.base ?? 0x1000, options.data ?? []), { maxCycles: 10_000_000, ...options });
  return { ...out, regs: out.machine.regs, cr: out.machine.cr };
}

/** Address of the n-th instruction (0-based) of a program at 0x1000, counting `la`/li as 2. */
export const at = (n: number) => 0x1000 + 4 * n;
