// previrt/guest: the intrinsics of guest code (docs/design.md §5), declared for the
// TypeScript checker so guest sources type-check in an editor and with tsc.
// `previrt cc` lowers each call to G32 instructions (src/compiler/intrinsics.ts);
// guest/index.js implements them on the host (Node) for differential tests.
// Every value is a 32-bit integer; `number` here always means int32.

/** Reads a 32-bit word (address 4-aligned). */
export declare function load32(addr: number): number;
/** Reads a 16-bit half-word, zero-extended (address 2-aligned). */
export declare function load16(addr: number): number;
/** Reads a byte, zero-extended. */
export declare function load8(addr: number): number;
export declare function store32(addr: number, value: number): void;
export declare function store16(addr: number, value: number): void;
export declare function store8(addr: number, value: number): void;

/** Disables interrupts (`cli`). */
export declare function cli(): void;
/** Enables interrupts (`sti`). */
export declare function sti(): void;
/** Waits for an interrupt (`hlt`). */
export declare function halt(): void;

/** The processor status register (`rdpsr`): bit 0 IE, bit 1 SU, bits 8–15 user flags. */
export declare function readPsr(): number;
/** Writes the PSR (`wrpsr`); in user mode only the user flags change. */
export declare function writePsr(value: number): void;

/** Control-register numbers for readCr/writeCr (`mfcr`/`mtcr`). */
export declare const CR: {
  readonly tvec: 0;
  readonly epc: 1;
  readonly epsr: 2;
  readonly cause: 3;
  readonly badva: 4;
  readonly ptbr: 5;
  readonly scratch: 6;
  readonly pgctl: 7;
};
export type ControlRegister = (typeof CR)[keyof typeof CR];
/** Reads a control register; `cr` must be a compile-time constant (`CR.ptbr`). */
export declare function readCr(cr: ControlRegister): number;
/** Writes a control register; `cr` must be a compile-time constant. */
export declare function writeCr(cr: ControlRegister, value: number): void;

/** Drops every cached translation (`tlbflush`). */
export declare function tlbFlush(): void;
/** Drops the cached translation of a virtual address (`tlbinv`). */
export declare function tlbInvalidate(va: number): void;

/** I/O port numbers of the G32 machine (docs/design.md §2). */
export declare const PORT: {
  readonly console: 0x10;
  readonly consoleStatus: 0x11;
  readonly timerPeriod: 0x20;
  readonly timerAck: 0x21;
  readonly cycles: 0x22;
  readonly diskSector: 0x30;
  readonly diskAddress: 0x31;
  readonly diskCommand: 0x32;
  readonly diskStatus: 0x33;
  readonly power: 0xf0;
  readonly cpuId: 0x40;
  readonly cpuCount: 0x41;
  readonly cpuStart: 0x42;
  readonly cpuStartAddress: 0x43;
  readonly ipi: 0x44;
  readonly ipiAck: 0x45;
};
/** PSR bits. */
export declare const PSR: { readonly IE: 1; readonly SU: 2; readonly UF_MASK: 0xff00 };

/** Reads an I/O port (`in`); `port` must be a compile-time constant. */
export declare function inPort(port: number): number;
/** Writes an I/O port (`out`); `port` must be a compile-time constant. `outPort(PORT.power, code)` powers off. */
export declare function outPort(port: number, value: number): void;

/** Traps into the kernel (`syscall`): n in a0, a–c in a1–a3; returns a0. */
export declare function syscall(n: number, a?: number, b?: number, c?: number): number;
/** Calls the hypervisor (`hcall n`, n a constant 0–262143): a–c in a0–a2; returns a0. */
export declare function hypercall(n: number, a?: number, b?: number, c?: number): number;

/** Writes a page-table entry: a memory-sensitive store (`.sensitive pte`). */
export declare function writePte(addr: number, value: number): void;
/** Reads a page-table entry: a memory-sensitive load (`.sensitive pte`). */
export declare function readPte(addr: number): number;
/** Reads a memory-mapped device register (`.sensitive mmio`). */
export declare function mmioRead32(addr: number): number;
/** Writes a memory-mapped device register (`.sensitive mmio`). */
export declare function mmioWrite32(addr: number, value: number): void;

/** The address of a function, a string literal's bytes, or a typed-array global. */
export declare function addressOf(target: ((...args: never[]) => unknown) | string | Int32Array | Uint8Array | Int8Array | Uint16Array | Int16Array): number;
/** Inserts assembly lines verbatim (they may use t0–t4 freely and must preserve every other register). */
export declare function asm(code: string): void;

// ---- Multiprocessor (docs/guest-language.md "Multiprocessor intrinsics") ----
// The machine is sequentially consistent: no fences. Addresses are word-aligned
// (a misaligned atomic faults, cause 3).

/** Atomically writes `value` to the word at `addr` (`amoswap`); returns the old word. */
export declare function atomicSwap(addr: number, value: number): number;
/** Atomically adds `value` to the word at `addr` (`amoadd`); returns the old word. */
export declare function atomicAdd(addr: number, value: number): number;
/** A spin-wait hint (`pause`): no effect but time; counted, so a hypervisor can see spinning. */
export declare function cpuPause(): void;
/** This CPU's number, 0 … cpuCount() − 1 (port 0x40; privileged). */
export declare function cpuId(): number;
/** The number of CPUs of the machine (port 0x41; privileged). */
export declare function cpuCount(): number;
/**
 * Starts CPU `n` running `fn` (ports 0x43, 0x42; privileged) on a stack of its
 * own (the start-up's, docs/abi.md), in supervisor mode with interrupts and
 * paging off. `fn` is a function name, takes no arguments and must not return.
 * Starting a CPU that does not exist or is running is ignored by the machine.
 */
export declare function startCpu(n: number, fn: () => void): void;
/** Sends an inter-processor interrupt to CPU `n` (port 0x44: IRQ line 3 on that CPU; privileged). */
export declare function sendIpi(n: number): void;
/** Takes the spinlock at `addr` (a word: 0 free, 1 held), spinning with `pause` (an annotated `lock` site). */
export declare function spinLock(addr: number): void;
/** Releases the spinlock at `addr` (stores 0: an annotated `unlock` site). */
export declare function spinUnlock(addr: number): void;

// ---- Host control: only for running guest code under Node (guest/index.js) ----
// Not intrinsics: `previrt cc` rejects imports of these names.

/** Thrown by `outPort(PORT.power, code)` on the host. */
export declare class PowerOff extends Error {
  readonly code: number;
  constructor(code: number);
}
export declare const HOST_MEMORY_SIZE: number;
export declare const HOST_STRING_BASE: number;
/** The host machine behind the intrinsics when guest code runs under Node. */
export declare const host: {
  reset(options?: { stdin?: string | Uint8Array }): void;
  console(): string;
  memory(): Uint8Array;
  run(main: () => number | boolean | void, options?: { stdin?: string | Uint8Array }): { exitCode: number; console: string };
};
