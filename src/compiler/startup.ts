// The start-up code `previrt build` adds to a program (inputs that define no
// `_start`): set the stack pointer, call the exported `main()`, power off
// with its return value as the exit status. And the stack itself, added when
// no input defines `__stack_top` (a TS-defined `_start` also uses it).
//
// Consumed by the build command (src/cli/commands/build.ts) and by tests;
// produces assembly sources for assemble(). docs/abi.md describes both.

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

/** Whether an assembly text defines `symbol` as a label (not a reference). */
export function definesLabel(asm: string, symbol: string): boolean {
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
  return extra;
}
