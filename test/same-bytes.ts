// Byte-for-byte comparison of large buffers (disk images, RAM, files) for
// tests. `expect(a).toEqual(b)` walks a typed array element by element
// through the generic deep-equality code: about 5 s per MiB on this machine,
// which made a few tests spend most of their time comparing. This compares
// with memcmp (Buffer.compare) and, when the bytes differ, says where first.
import { expect } from "vitest";

/** Where `actual` first differs from `expected` (undefined: the same bytes). */
export function firstDifference(actual: Uint8Array, expected: Uint8Array): string | undefined {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  if (a.equals(b)) return undefined;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  if (i === n) return `lengths differ: ${a.length} vs ${b.length} bytes (equal up to ${n})`;
  return `byte 0x${i.toString(16)} differs: 0x${a[i].toString(16)} vs 0x${b[i].toString(16)} (lengths ${a.length} and ${b.length})`;
}

/** Asserts that `actual` holds exactly the bytes of `expected`; the failure names the first difference. */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array, what?: string): void {
  expect(firstDifference(actual, expected), what).toBeUndefined();
}
