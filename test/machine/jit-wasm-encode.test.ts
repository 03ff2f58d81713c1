// The module encoder the WebAssembly tiers share (src/machine/jit/wasm-encode.ts
// `moduleOf`): every module it makes must be one V8 accepts and runs as
// written — parameters, locals and a body whose sizes straddle the points
// where their LEB128 lengths take another byte (127/128, 16,383/16,384), the
// function's size and the code section's size included. `moduleOf` copies
// the body with one `Uint8Array.set` (docs/speed-history.md "Twelfth round: short runs"), so
// the sizes around it are computed, not taken from a growing array: one of
// them off by a byte makes a module WebAssembly rejects, or a function that
// returns another value.
import { describe, expect, it } from "vitest";
import { moduleOf, OPC, sleb, uleb } from "../../src/machine/jit/wasm-encode.js";

/** The host's WebAssembly, as far as this test uses it (the compiler's library declares none). */
const W = (globalThis as unknown as {
  WebAssembly: {
    validate(bytes: Uint8Array): boolean;
    Module: new (bytes: Uint8Array) => object;
    Memory: new (d: { initial: number }) => object;
    Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  };
}).WebAssembly;

/**
 * A body of about `size` bytes returning `value`: `nop`s (0x01) to pad, then
 * the value as a constant (i32.const with its signed LEB128) and, when the
 * function has parameters, its last parameter added to it.
 */
function bodyOf(size: number, params: number, value: number): number[] {
  const tail: number[] = [OPC.i32_const];
  sleb(value, tail);
  if (params > 0) {
    tail.push(OPC.local_get);
    uleb(params - 1, tail);
    tail.push(OPC.i32_add);
  }
  const body: number[] = new Array(Math.max(0, size - tail.length)).fill(0x01);
  return body.concat(tail);
}

function run(bytes: Uint8Array, args: number[]): number {
  const mod = new W.Module(bytes);
  const memory = new W.Memory({ initial: 1 });
  const inst = new W.Instance(mod, { e: { m: memory } });
  return (inst.exports.f as (...a: number[]) => number)(...args);
}

describe("wasm-encode moduleOf", () => {
  const sizes = [0, 1, 100, 120, 126, 127, 128, 129, 130, 16_370, 16_380, 16_383, 16_384, 16_385, 16_390, 40_000];
  for (const params of [0, 1, 9, 127, 128]) {
    it(`${params} parameters: valid modules that run their body, bodies of ${sizes.length} sizes around the LEB128 steps`, () => {
      for (const locals of [0, 1, 127, 128]) {
        for (const size of sizes) {
          const value = (size * 7919 + locals - 12345) | 0;
          const bytes = moduleOf(params, locals, bodyOf(size, params, value));
          expect(W.validate(bytes), `params ${params} locals ${locals} body ${size}`).toBe(true);
          const args = Array.from({ length: params }, (_, i) => i + 1);
          expect(run(bytes, args)).toBe((value + (params > 0 ? params : 0)) | 0);
        }
      }
    });
  }

  it("ends with the body and the function's end, after the sizes that count them", () => {
    const body = bodyOf(200, 2, 5);
    const bytes = moduleOf(2, 3, body);
    // The last bytes: the body as given, then `end`.
    expect(Array.from(bytes.subarray(bytes.length - 1 - body.length, bytes.length - 1))).toEqual(body);
    expect(bytes[bytes.length - 1]).toBe(OPC.end);
    // The code section (id 10) is last; its size counts everything after it.
    const fnSize = 1 + 1 + 1 + body.length + 1; // one locals entry (count, n, type), the body, end
    const sizeBytes: number[] = [];
    uleb(fnSize, sizeBytes);
    const sectionSize = 1 + sizeBytes.length + fnSize;
    const sectionBytes: number[] = [];
    uleb(sectionSize, sectionBytes);
    const start = bytes.length - sectionSize - sectionBytes.length - 1;
    expect(bytes[start]).toBe(10);
    expect(Array.from(bytes.subarray(start + 1, start + 1 + sectionBytes.length))).toEqual(sectionBytes);
  });
});
