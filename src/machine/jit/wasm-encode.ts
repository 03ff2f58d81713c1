// The few pieces of the WebAssembly binary format the two WebAssembly tiers
// (wasm-loop.ts, wasm-blocks.ts, and wasm-ops.ts, the instruction code they
// share) need: LEB128 numbers, the opcodes they emit, and a module of one
// function that imports one memory and is exported as "f".
//
// Consumes a function's parameter and local counts and its body (bytes);
// produces the bytes of the module (WebAssembly core spec 1.0, section 5).

/** The opcodes the tiers emit (spec 5.4). */
export const OPC = {
  block: 0x02, loop: 0x03, if: 0x04, end: 0x0b, br: 0x0c, br_if: 0x0d, return: 0x0f,
  local_get: 0x20, local_set: 0x21, local_tee: 0x22,
  i32_load: 0x28, i32_load8_s: 0x2c, i32_load8_u: 0x2d, i32_load16_s: 0x2e, i32_load16_u: 0x2f,
  i32_store: 0x36, i32_store8: 0x3a, i32_store16: 0x3b,
  i32_const: 0x41,
  i32_eqz: 0x45, i32_eq: 0x46, i32_ne: 0x47, i32_lt_s: 0x48, i32_lt_u: 0x49, i32_ge_s: 0x4e, i32_ge_u: 0x4f,
  i32_add: 0x6a, i32_sub: 0x6b, i32_mul: 0x6c, i32_and: 0x71, i32_or: 0x72, i32_xor: 0x73,
  i32_shl: 0x74, i32_shr_s: 0x75, i32_shr_u: 0x76,
} as const;

/** Block type "no result" (spec 5.3.1). */
export const VOID = 0x40;
const I32 = 0x7f;

/** Unsigned LEB128. */
export function uleb(n: number, out: number[]): void {
  n >>>= 0;
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

/** Signed LEB128 of an int32. */
export function sleb(n: number, out: number[]): void {
  n |= 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function section(id: number, content: number[], out: number[]): void {
  out.push(id);
  uleb(content.length, out);
  for (const b of content) out.push(b);
}

/**
 * A module importing memory "e"."m" (no minimum: any size fits) and exporting
 * its one function "f" of `params` i32 parameters and `locals` i32 locals,
 * returning an i32, with `body` (its instructions, without the final `end`).
 * The body (thousands of bytes) is copied once, by `Uint8Array.set`: copied
 * byte by byte through three arrays, this loop was hot enough in a short run
 * for V8 to compile it twice (on-stack replacement, then the function), about
 * 30 ms of a compiler thread for `mixed` at scale 24 under xen
 * (docs/speed-history.md "Twelfth round: short runs").
 */
export function moduleOf(params: number, locals: number, body: readonly number[]): Uint8Array {
  const head = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const type = [1, 0x60];
  uleb(params, type);
  for (let i = 0; i < params; i++) type.push(I32);
  type.push(1, I32);
  section(1, type, head);
  // import "e" "m" memory, limits flag 0, minimum 0
  section(2, [1, 1, 0x65, 1, 0x6d, 0x02, 0x00, 0x00], head);
  section(3, [1, 0], head);
  section(7, [1, 1, 0x66, 0x00, 0], head);
  // The code section: one function (its size, its locals, the body, `end`).
  const locs: number[] = [];
  if (locals > 0) {
    locs.push(1);
    uleb(locals, locs);
    locs.push(I32);
  } else locs.push(0);
  const fnSize = locs.length + body.length + 1;
  const code = [1];
  uleb(fnSize, code);
  head.push(10);
  uleb(code.length + fnSize, head);
  const out = new Uint8Array(head.length + code.length + fnSize);
  out.set(head, 0);
  out.set(code, head.length);
  out.set(locs, head.length + code.length);
  out.set(body, head.length + code.length + locs.length);
  out[out.length - 1] = OPC.end;
  return out;
}
