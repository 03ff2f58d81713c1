// Guest source shared by the protection tests' kernels and hostile modules
// (TypeScript dialect, pasted into their text): the module's first function
// with xen's and l4's MMU_UPDATE and MULTICALL hypercalls as functions (their
// arguments are already in a0 and a1 when `hcall` runs; the text must import
// asm from "previrt/guest"), a small number printed, and a memory-supervisor
// call (outPort, inPort and PORT); and, for assembly kernels, paging over
// an identity map with some pages remapped.

export const MODULE_HYPERCALLS = `export function modBegin(): number {
  return 0;
}

/** xen and l4's MMU_UPDATE hypercall (2) on count pairs at va; returns 0 (the entries applied are not looked at). */
function mmuUpdate(va: number, count: number): number {
  asm("hcall 2");
  return 0;
}

/** xen and l4's MULTICALL (11) of count entries {op, a0, a1, a2} at va (each result into its a0 slot); returns 0. */
function multicall(va: number, count: number): number {
  asm("hcall 11");
  return 0;
}
`;

/** Prints a small number (-9..9) and a space. */
export const PUT_SMALL = `function put(n: number): void {
  if (n < 0) {
    outPort(PORT.console, 45);
    n = -n;
  }
  outPort(PORT.console, 48 + n);
  outPort(PORT.console, 32);
}
`;

/** A memory-supervisor call, call(op, a0, a1, a2): ARG0..ARG2, ARG3 = the global perm (initially `perm`), then the call; its result. */
export const supervisorCall = (perm: number) => `
/** A GRANT's permission (ARG3). */
let perm = ${perm};

function call(op: number, a0: number, a1: number, a2: number): number {
  outPort(0x50, a0);
  outPort(0x51, a1);
  outPort(0x52, a2);
  outPort(0x53, perm);
  outPort(0x54, op);
  return inPort(0x54);
}
`;

/** Paging on over an identity map with some pages remapped (written once, with the supervisor kernels that need it too). */
export { identityPaging } from "../../scripts/fuzz/generators/supervisor.js";
