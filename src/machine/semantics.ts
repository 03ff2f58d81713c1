// Instruction semantics with edge cases, as pure functions on int32 values:
// the interpreter (cpu.ts) calls them, and a later block-translating JIT
// shares them. Division never traps (docs/design.md §2): by zero, div/divu give
// all ones and rem/remu give the dividend; the one signed overflow,
// -2^31 / -1, gives -2^31 with remainder 0 (as RISC-V does).

const INT_MIN = -0x8000_0000;

/** High 32 bits of the unsigned 64-bit product. */
export function mulhu(x: number, y: number): number {
  const a = x >>> 0, b = y >>> 0;
  const aLo = a & 0xffff, aHi = a >>> 16, bLo = b & 0xffff, bHi = b >>> 16;
  const lolo = aLo * bLo;
  const mid1 = aHi * bLo;
  const mid2 = aLo * bHi;
  const carry = ((lolo >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff)) >>> 16;
  return (aHi * bHi + (mid1 >>> 16) + (mid2 >>> 16) + carry) | 0;
}

export function div(x: number, y: number): number {
  if (y === 0) return -1;
  if (x === INT_MIN && y === -1) return INT_MIN;
  return (x / y) | 0;
}

export function divu(x: number, y: number): number {
  if (y === 0) return -1;
  return ((x >>> 0) / (y >>> 0)) | 0;
}

export function rem(x: number, y: number): number {
  if (y === 0) return x;
  if (x === INT_MIN && y === -1) return 0;
  return x % y | 0;
}

export function remu(x: number, y: number): number {
  if (y === 0) return x;
  return ((x >>> 0) % (y >>> 0)) | 0;
}
