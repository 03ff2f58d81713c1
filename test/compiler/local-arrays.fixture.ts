// test/compiler/local-arrays.test.ts's program: local typed arrays under
// recursion, in loops (a new zeroed array at each iteration), for every
// element type. (addressOf of a typed array does not run under Node.)
import { outPort, PORT } from "previrt/guest";

function fill(seed: number): number {
  const buf = new Uint8Array(100);
  const w = new Int32Array(3);
  for (let i = 0; i < buf.length; i++) buf[i] = seed + i * 7; // stores truncate, as in JavaScript
  for (let i = 0; i < buf.length; i++) w[0] += buf[i];
  w[1] = buf[99] + w[0];
  w[2] = w.length;
  w[2]++;
  return (w[0] ^ w[1] ^ w[2]) & 0xffff;
}

function rec(n: number): number {
  const a = new Int16Array(5);
  const b = new Int8Array(3);
  const c = new Uint16Array(2);
  a[n % 5] = n * 1000;
  b[n % 3] = n * 40; // wraps to int8
  c[1] = -n; // wraps to uint16
  if (n > 0) a[(n + 1) % 5] = rec(n - 1);
  return (a[0] + a[1] * 3 + a[2] * 5 + a[3] * 7 + a[4] * 11 + b[0] + b[1] + b[2] + c[1]) & 0xffff;
}

function digit(n: number): void {
  outPort(PORT.console, 48 + (n % 10));
}

export function main(): number {
  let t = 0;
  for (let k = 0; k < 3; k++) {
    const z = new Int32Array(16); // zeroed again at each iteration
    t += z[0] * 100 + z[k] + z.length;
    z[0] = 5;
  }
  const f = fill(3) + fill(250);
  const r = rec(7);
  digit(t);
  digit(f);
  digit(f >> 4);
  digit(r);
  digit(r >> 4);
  outPort(PORT.console, 10);
  return (f + r + t) & 0xff;
}
