// Register and control-register names of G32 (docs/design.md §2). The assembler,
// disassembler, compiler and emulator all read these tables.

import { ownValue } from "./own-value.js";

/** ABI names by register number; index = register number. */
export const ABI_NAMES = [
  "zero", "a0", "a1", "a2", "a3", "t0", "t1", "t2",
  "t3", "t4", "s0", "s1", "s2", "k0", "sp", "lr",
] as const;

export const REG = {
  zero: 0, a0: 1, a1: 2, a2: 3, a3: 4, t0: 5, t1: 6, t2: 7,
  t3: 8, t4: 9, s0: 10, s1: 11, s2: 12, k0: 13, sp: 14, lr: 15,
} as const satisfies Record<(typeof ABI_NAMES)[number], number>;

/** The soft layer's scratch register: guest code never uses it (docs/design.md §3). */
export const K0 = REG.k0;

/** Parses `r0`–`r15` or an ABI name; undefined when it is not a register. */
export function parseRegister(name: string): number | undefined {
  const lower = name.toLowerCase();
  const m = /^r(\d{1,2})$/.exec(lower);
  if (m) {
    const n = Number(m[1]);
    return n <= 15 && String(n) === m[1] ? n : undefined;
  }
  return ownValue(REG, lower);
}

/** The name the disassembler prints for a register. */
export function registerName(n: number): string {
  return ABI_NAMES[n & 15];
}

/** Control registers for mfcr/mtcr; index = number. */
export const CR_NAMES = ["tvec", "epc", "epsr", "cause", "badva", "ptbr", "scratch", "pgctl"] as const;
export type ControlRegister = (typeof CR_NAMES)[number];

export const CR = {
  tvec: 0, epc: 1, epsr: 2, cause: 3, badva: 4, ptbr: 5, scratch: 6, pgctl: 7,
} as const satisfies Record<ControlRegister, number>;

export function parseControlRegister(name: string): number | undefined {
  return ownValue(CR, name.toLowerCase());
}

/** Processor status register bits. */
export const PSR = {
  /** Interrupts enabled. */
  IE: 1 << 0,
  /** Supervisor mode. */
  SU: 1 << 1,
  /** User flags, bits 8–15: no architectural effect; the only bits user-mode wrpsr changes. */
  UF_MASK: 0xff << 8,
} as const;

/** pgctl bits. */
export const PGCTL_ENABLE = 1;

/** Trap cause codes (docs/design.md §2). */
export const CAUSE = {
  ILLEGAL_INSTRUCTION: 1,
  PRIVILEGED_INSTRUCTION: 2,
  MISALIGNED: 3,
  PAGE_FAULT_FETCH: 4,
  PAGE_FAULT_LOAD: 5,
  PAGE_FAULT_STORE: 6,
  SYSCALL: 7,
  BREAKPOINT: 8,
  BUS_ERROR: 9,
  /** A load or store its protection domain does not permit (docs/protection.md); badva = the address. */
  PROTECTION_FAULT: 10,
  /** Interrupt line n is cause INTERRUPT_BASE + n. */
  INTERRUPT_BASE: 0x80,
} as const;

/** Interrupt lines. */
export const IRQ = { TIMER: 0, CONSOLE: 1, DISK: 2, /** An inter-processor interrupt (ports 0x44/0x45, docs/machine.md "Multiprocessor"). */ IPI: 3,
  /** An inter-domain event is pending (the multi-guest host's domain device, docs/driver-vms.md). */ EVENT: 4,
  /** The memory-mapped disk completed a request (docs/driver-vms.md "VMM-bypass I/O"). */ NVDISK: 5,
} as const;
