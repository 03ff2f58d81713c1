// The intrinsics of `previrt/guest` (docs/design.md §5) as data: for each name,
// the arguments it takes (run-time values, addresses, or compile-time
// constants with their range) and how it lowers to G32 instructions.
//
// Consumed by lower/codegen-access.ts, which evaluates the arguments (checking
// arity and constness, reporting misuse as diagnostics) and then calls the
// row's `emit` with registers and constants. This table is the *native*
// (bare / pre-virtualized) lowering; a para-virtualized build will add a
// second table with the same keys (`Record<IntrinsicName, IntrinsicSpec>`
// makes a missing row a compile error), mapping e.g. `cli` to a hypercall.
//
// guest/index.d.ts declares the same names for the TypeScript checker and
// guest/index.js implements them on the host (Node) for differential tests;
// test/compiler/intrinsics.test.ts keeps the three in step.

import { CR_NAMES, PSR } from "../guest-isa/registers.js";
import { CR_RANGE, PORT_RANGE, U18, type ImmRange } from "../guest-isa/isa-table.js";

/** The memory offset of amoswap/amoadd: signed 14 bits (docs/isa.md, format "amo"). */
export const AMO_OFFSET: ImmRange = { min: -(1 << 13), max: (1 << 13) - 1 };

/** The ports of the multiprocessor (docs/machine.md): read this CPU's number / the CPU count; start a CPU; send an IPI. */
export const SMP_PORTS = { cpuId: 0x40, cpuCount: 0x41, cpuStart: 0x42, cpuStartAddress: 0x43, ipi: 0x44, ipiAck: 0x45 } as const;

/** The start-up routine startCpu() calls (src/compiler/startup.ts SMP_STARTUP_ASM). */
export const START_CPU_SYMBOL = "__previrt_start_cpu";

/** How one argument is passed to the emitter. */
export type IntrinsicArg =
  /** Evaluated into a register. */
  | { kind: "value" }
  /**
   * A memory address: evaluated into `off(reg)` (folds `base + constant`
   * when the constant is in `offset`, default the loads' signed 18 bits).
   */
  | { kind: "address"; offset?: ImmRange }
  /** A compile-time constant in a range; `what` names it in diagnostics. */
  | { kind: "const"; range: ImmRange; what: string }
  /** A string literal (asm). */
  | { kind: "string" }
  /** A function name, a string literal or a global (addressOf). */
  | { kind: "symbol" };

/** An evaluated argument, as the emitter sees it. */
export type EmittedArg = { reg: string } | { reg: string; off: number } | { value: number } | { text: string };

/** Lines are assembly statements; the driver indents and prints them. */
export interface IntrinsicSpec {
  readonly args: readonly IntrinsicArg[];
  /** Trailing optional arguments: arity is minArgs..args.length. */
  readonly minArgs: number;
  /** Whether it produces a value (a register `rd` the driver allocates). */
  readonly returns: boolean;
  /**
   * A call-like intrinsic: the driver saves live temporaries, evaluates the
   * value arguments and moves them into these registers (in argument order,
   * skipping constant arguments), and takes the result from a0.
   */
  readonly argRegs?: readonly string[];
  /**
   * The emitter needs a scratch register of its own (passed as `rd`, distinct
   * from every argument register; only for intrinsics that return nothing).
   */
  readonly scratch?: boolean;
  /**
   * Assembly lines; `rd` is the result (or scratch) register. A line ending
   * in ':' is a label; `label()` gives a fresh one, unique in the file.
   */
  emit(args: readonly EmittedArg[], rd: string, label: () => string): string[];
}

const reg = (a: EmittedArg | undefined): string => {
  if (!a || !("reg" in a)) throw new Error("intrinsic: expected a register argument");
  return a.reg;
};
const mem = (a: EmittedArg | undefined): string => {
  if (!a || !("reg" in a)) throw new Error("intrinsic: expected an address argument");
  return `${"off" in a ? a.off : 0}(${a.reg})`;
};
const num = (a: EmittedArg | undefined): number => {
  if (!a || !("value" in a)) throw new Error("intrinsic: expected a constant argument");
  return a.value;
};
const hex = (n: number) => `0x${n.toString(16).toUpperCase()}`;

const value: IntrinsicArg = { kind: "value" };
const address: IntrinsicArg = { kind: "address" };
const port: IntrinsicArg = { kind: "const", range: PORT_RANGE, what: "port number" };
const cr: IntrinsicArg = { kind: "const", range: CR_RANGE, what: "control register (CR.name)" };

const load = (mnemonic: string, sensitive?: "pte" | "mmio"): IntrinsicSpec => ({
  args: [address],
  minArgs: 1,
  returns: true,
  emit: (a, rd) => [...(sensitive ? [`.sensitive ${sensitive}`] : []), `${mnemonic} ${rd}, ${mem(a[0])}`],
});
const store = (mnemonic: string, sensitive?: "pte" | "mmio"): IntrinsicSpec => ({
  args: [address, value],
  minArgs: 2,
  returns: false,
  emit: (a) => [...(sensitive ? [`.sensitive ${sensitive}`] : []), `${mnemonic} ${reg(a[1])}, ${mem(a[0])}`],
});
const plain = (mnemonic: string): IntrinsicSpec => ({ args: [], minArgs: 0, returns: false, emit: () => [mnemonic] });
const amoAddress: IntrinsicArg = { kind: "address", offset: AMO_OFFSET };
const atomic = (mnemonic: string): IntrinsicSpec => ({
  args: [amoAddress, value],
  minArgs: 2,
  returns: true,
  emit: (a, rd) => [`${mnemonic} ${rd}, ${reg(a[1])}, ${mem(a[0])}`],
});

export const INTRINSIC_NAMES = [
  "load32", "load16", "load8", "store32", "store16", "store8",
  "cli", "sti", "halt", "readPsr", "writePsr", "readCr", "writeCr",
  "tlbFlush", "tlbInvalidate", "inPort", "outPort", "syscall", "hypercall",
  "writePte", "readPte", "mmioRead32", "mmioWrite32", "addressOf", "asm",
  "atomicSwap", "atomicAdd", "cpuPause", "cpuId", "cpuCount", "startCpu", "sendIpi", "spinLock", "spinUnlock",
] as const;
export type IntrinsicName = (typeof INTRINSIC_NAMES)[number];

/** The native lowering: what bare metal runs and what the annotator wraps. */
export const NATIVE_INTRINSICS: Readonly<Record<IntrinsicName, IntrinsicSpec>> = {
  // Loads are zero-extending (like a Uint8Array/Uint16Array view); the host
  // implementation in guest/index.js does the same.
  load32: load("lw"),
  load16: load("lhu"),
  load8: load("lbu"),
  store32: store("sw"),
  store16: store("sh"),
  store8: store("sb"),
  cli: plain("cli"),
  sti: plain("sti"),
  halt: plain("hlt"),
  tlbFlush: plain("tlbflush"),
  readPsr: { args: [], minArgs: 0, returns: true, emit: (_a, rd) => [`rdpsr ${rd}`] },
  writePsr: { args: [value], minArgs: 1, returns: false, emit: (a) => [`wrpsr ${reg(a[0])}`] },
  readCr: { args: [cr], minArgs: 1, returns: true, emit: (a, rd) => [`mfcr ${rd}, ${CR_NAMES[num(a[0])]}`] },
  writeCr: { args: [cr, value], minArgs: 2, returns: false, emit: (a) => [`mtcr ${CR_NAMES[num(a[0])]}, ${reg(a[1])}`] },
  tlbInvalidate: { args: [value], minArgs: 1, returns: false, emit: (a) => [`tlbinv ${reg(a[0])}`] },
  inPort: { args: [port], minArgs: 1, returns: true, emit: (a, rd) => [`in ${rd}, ${hex(num(a[0]))}`] },
  outPort: { args: [port, value], minArgs: 2, returns: false, emit: (a) => [`out ${hex(num(a[0]))}, ${reg(a[1])}`] },
  // syscall(n, a, b, c): n in a0, a–c in a1–a3, result in a0 (docs/abi.md).
  syscall: { args: [value, value, value, value], minArgs: 1, returns: true, argRegs: ["a0", "a1", "a2", "a3"], emit: () => ["syscall"] },
  // hypercall(n, a, b, c): `hcall n` with a–c in a0–a2, result in a0.
  hypercall: {
    args: [{ kind: "const", range: U18, what: "hypercall number" }, value, value, value],
    minArgs: 1,
    returns: true,
    argRegs: ["a0", "a1", "a2"],
    emit: (a) => [`hcall ${num(a[0])}`],
  },
  writePte: store("sw", "pte"),
  readPte: load("lw", "pte"),
  mmioRead32: load("lw", "mmio"),
  mmioWrite32: store("sw", "mmio"),
  addressOf: { args: [{ kind: "symbol" }], minArgs: 1, returns: true, emit: () => [] /* codegen handles it */ },
  asm: { args: [{ kind: "string" }], minArgs: 1, returns: false, emit: () => [] /* codegen handles it */ },
  // ---- multiprocessor (docs/guest-language.md "Multiprocessor intrinsics") ----
  // Both return the old word; the machine is sequentially consistent, so no fences exist.
  atomicSwap: atomic("amoswap"),
  atomicAdd: atomic("amoadd"),
  cpuPause: plain("pause"),
  cpuId: { args: [], minArgs: 0, returns: true, emit: (_a, rd) => [`in ${rd}, ${hex(SMP_PORTS.cpuId)}`] },
  cpuCount: { args: [], minArgs: 0, returns: true, emit: (_a, rd) => [`in ${rd}, ${hex(SMP_PORTS.cpuCount)}`] },
  // startCpu(n, fn): a call into the start-up's routine, which records fn for CPU n and starts it at
  // a trampoline that gives it its own stack (startup.ts). codegen checks fn and puts its address in a1.
  startCpu: { args: [value, { kind: "symbol" }], minArgs: 2, returns: false, argRegs: ["a0", "a1"], emit: () => [`call ${START_CPU_SYMBOL}`] },
  sendIpi: { args: [value], minArgs: 1, returns: false, emit: (a) => [`out ${hex(SMP_PORTS.ipi)}, ${reg(a[0])}`] },
  // A test-and-set loop around one annotated `lock` site (the swap that tries to take the lock: 0
  // left in the scratch register means taken), spinning with `pause`. The site holds
  // `amoswap rd, rd, off(base)` (rd = rs2, so the record's fields rebuild it); a back end may replace
  // it with any code that returns with rd = 0 once it holds the lock (docs/design.md §3).
  spinLock: {
    args: [amoAddress],
    minArgs: 1,
    returns: false,
    scratch: true,
    emit: (a, rd, label) => {
      const retry = label();
      const taken = label();
      return [`${retry}:`, `li ${rd}, 1`, ".sensitive lock", `amoswap ${rd}, ${rd}, ${mem(a[0])}`, `beqz ${rd}, ${taken}`, "pause", `j ${retry}`, `${taken}:`];
    },
  },
  // The release: one `unlock` site, a store of zero (sequential consistency makes it a release).
  spinUnlock: { args: [amoAddress], minArgs: 1, returns: false, emit: (a) => [".sensitive unlock", `sw zero, ${mem(a[0])}`] },
};

/** Constant namespaces exported by previrt/guest: `CR.ptbr`, `PORT.console`, `PSR.IE`. */
export const GUEST_CONSTANTS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  CR: Object.fromEntries(CR_NAMES.map((n, i) => [n, i])),
  PORT: {
    console: 0x10,
    consoleStatus: 0x11,
    timerPeriod: 0x20,
    timerAck: 0x21,
    cycles: 0x22,
    diskSector: 0x30,
    diskAddress: 0x31,
    diskCommand: 0x32,
    diskStatus: 0x33,
    power: 0xf0,
    ...SMP_PORTS,
  },
  PSR: { IE: PSR.IE, SU: PSR.SU, UF_MASK: PSR.UF_MASK },
};

export function isIntrinsicName(name: string): name is IntrinsicName {
  return (INTRINSIC_NAMES as readonly string[]).includes(name);
}
