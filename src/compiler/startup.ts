// The start-up code `previrt build` adds to a program (inputs that define no
// `_start`): set the stack pointer, call the exported `main()`, power off
// with its return value as the exit status. And the stack itself, added when
// no input defines `__stack_top` (a TS-defined `_start` also uses it).
//
// Consumed by the build command (src/cli/commands/build.ts) and by tests;
// produces assembly sources for assemble(). docs/abi.md describes both.

import { SMP_PORTS, START_CPU_SYMBOL } from "./intrinsics.js";

/** Bytes of stack the start-up reserves in .bss. */
export const STACK_SIZE = 64 * 1024;

export const STARTUP_FILE = "<startup>.s";
export const STACK_FILE = "<stack>.s";

/** `_start`: sp = __stack_top; a0 = main(); power off with a0 & 0xFF. */
export const STARTUP_ASM = `# previrt start-up for programs (docs/abi.md): run main(), power off with its result.
    .text
    .global _start
_start:
    la sp, __stack_top
    call main
    out 0xF0, a0            # power off; exit status = main's result & 0xFF
.Lhang:
    j .Lhang
`;

export const STACK_ASM = `# previrt stack for programs and TS kernels (docs/abi.md): ${STACK_SIZE} bytes, grows down.
    .bss
    .align 16
    .global __stack_bottom
__stack_bottom:
    .space ${STACK_SIZE}
    .global __stack_top
__stack_top:
`;

/** Bytes of stack each CPU started by startCpu() gets (CPU 0 keeps the main stack). */
export const CPU_STACK_SIZE = 16 * 1024;
/** CPUs the machine can have (docs/machine.md): CPU 0 plus at most 7 started ones. */
export const MAX_CPUS = 8;
export const SMP_STARTUP_FILE = "<smp-startup>.s";

/**
 * startCpu(n, fn) calls __previrt_start_cpu (a0 = n, a1 = fn): it records fn
 * as CPU n's entry, writes the trampoline's address to the start-address
 * port (0x43) and starts CPU n (port 0x42). CPU n begins in the trampoline
 * (supervisor mode, interrupts and paging off, registers zero): it reads its
 * number (port 0x40), takes stack n — the CPU_STACK_SIZE bytes below
 * __previrt_cpu_stacks + n × CPU_STACK_SIZE — and calls fn, which must not
 * return (if it does, the CPU halts with interrupts off). A number with no
 * slot (≥ MAX_CPUS) still goes to the port, which ignores it (counted).
 */
export const SMP_STARTUP_ASM = `# previrt multiprocessor start-up (docs/abi.md): startCpu(n, fn), a stack per CPU.
    .text
    .global ${START_CPU_SYMBOL}
${START_CPU_SYMBOL}:
    sltiu t0, a0, ${MAX_CPUS}
    beqz t0, .Lstart_cpu_port      # no slot: the port refuses the number anyway
    slli t0, a0, 2
    la   t1, __previrt_cpu_entry
    add  t1, t1, t0
    sw   a1, 0(t1)                 # CPU n's entry
.Lstart_cpu_port:
    la   t0, __previrt_cpu_trampoline
    out  0x${SMP_PORTS.cpuStartAddress.toString(16)}, t0                # where the next started CPU begins
    out  0x${SMP_PORTS.cpuStart.toString(16)}, a0                # start CPU n
    ret

# A started CPU begins here: supervisor mode, interrupts and paging off, registers zero.
__previrt_cpu_trampoline:
    in   t0, 0x${SMP_PORTS.cpuId.toString(16)}                # n = this CPU's number
    slli t1, t0, ${Math.log2(CPU_STACK_SIZE)}
    la   sp, __previrt_cpu_stacks
    add  sp, sp, t1                # top of stack n
    slli t1, t0, 2
    la   t2, __previrt_cpu_entry
    add  t2, t2, t1
    lw   t2, 0(t2)
    jalr lr, 0(t2)                 # fn() must not return
.Lcpu_returned:
    hlt                            # it did: park this CPU (interrupts are off)
    j    .Lcpu_returned

    .data
    .align 4
__previrt_cpu_entry:
    .space ${4 * MAX_CPUS}

    .bss
    .align 16
    .global __previrt_cpu_stacks
__previrt_cpu_stacks:              # stacks of CPUs 1..${MAX_CPUS - 1}, each growing down from its top
    .space ${(MAX_CPUS - 1) * CPU_STACK_SIZE}
`;

/** Whether an assembly text defines `symbol` as a label (not a reference). */
export function definesLabel(asm: string, symbol: string): boolean {
  if (!asm.includes(symbol)) return false; // (the regular expression below is slow over a million-line file)
  const escaped = symbol.replace(/[.$]/g, "\\$&");
  return new RegExp(`^\\s*${escaped}\\s*:`, "m").test(asm);
}

export interface AsmSource {
  file: string;
  text: string;
}

/**
 * The extra sources a build needs: the stack unless some input defines
 * `__stack_top`, and the start-up unless some input defines `_start`.
 */
export function runtimeSources(inputs: readonly AsmSource[]): AsmSource[] {
  const extra: AsmSource[] = [];
  if (!inputs.some((s) => definesLabel(s.text, "_start"))) extra.push({ file: STARTUP_FILE, text: STARTUP_ASM });
  if (!inputs.some((s) => definesLabel(s.text, "__stack_top"))) extra.push({ file: STACK_FILE, text: STACK_ASM });
  // The multiprocessor start-up only when some input calls startCpu() (and none brings its own).
  if (inputs.some((s) => s.text.includes(START_CPU_SYMBOL)) && !inputs.some((s) => definesLabel(s.text, START_CPU_SYMBOL))) {
    extra.push({ file: SMP_STARTUP_FILE, text: SMP_STARTUP_ASM });
  }
  return extra;
}
