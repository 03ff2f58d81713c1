// previrt/guest on the host: a Node implementation of the intrinsics, so a
// guest program (compiled by `tsc`/`transpileModule` instead of `previrt cc`)
// runs natively. The differential tests (test/compiler/differential.test.ts)
// run every fixtures/programs/*.ts both ways and compare console output and
// exit status.
//
// The host machine: memory is a typed array (HOST_MEMORY_SIZE bytes, loads
// zero-extend like the compiled load8/load16), the console (port 0x10) goes
// to a buffer, `outPort(0xF0, code)` powers off by throwing PowerOff.
// String addresses come from addressOf(string), which copies the string's
// UTF-8 bytes (NUL-terminated) into memory at HOST_STRING_BASE and up.
// Privileged operations that need a real machine (page tables, control
// registers, interrupts, hypercalls, asm) throw "… is not available on the host".
//
// The host is one CPU: cpuId() is 0, cpuCount() 1, the atomics are plain
// read-modify-writes (nothing runs in between on one thread), spinLock takes a
// free lock and throws on a held one (with one CPU nobody could release it:
// the emulated machine would spin forever), startCpu and sendIpi throw (there
// is no other CPU to start or interrupt).

export const HOST_MEMORY_SIZE = 4 << 20;
export const HOST_STRING_BASE = 0x300000;
const HOST_FUNCTION_BASE = 0x3f0000;

export class PowerOff extends Error {
  constructor(code) {
    super(`power off (${code})`);
    this.name = "PowerOff";
    this.code = code;
  }
}

let memory = new Uint8Array(HOST_MEMORY_SIZE);
let view = new DataView(memory.buffer);
let output = [];
let input = new Uint8Array(0);
let inputPos = 0;
let strings = new Map();
let nextString = HOST_STRING_BASE;
let functions = new Map();

/** Controls the host machine (not part of the guest API). */
export const host = {
  /** Fresh memory, console and interned strings. */
  reset(options = {}) {
    memory = new Uint8Array(HOST_MEMORY_SIZE);
    view = new DataView(memory.buffer);
    output = [];
    input = typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : (options.stdin ?? new Uint8Array(0));
    inputPos = 0;
    strings = new Map();
    nextString = HOST_STRING_BASE;
    functions = new Map();
  },
  /** Console output so far, one character per byte (as the emulator's console). */
  console() {
    return String.fromCharCode(...output);
  },
  memory() {
    return memory;
  },
  /** Runs `main` like the start-up: exit status = main's result & 0xFF, or the power-off code. */
  run(main, options = {}) {
    host.reset(options);
    let exitCode;
    try {
      exitCode = (main() | 0) & 0xff;
    } catch (e) {
      if (!(e instanceof PowerOff)) throw e;
      exitCode = e.code;
    }
    return { exitCode, console: host.console() };
  },
};

const unavailable = (name) => () => {
  throw new Error(`${name} is not available on the host`);
};
const addr = (a, align) => {
  const x = a >>> 0;
  if (x % align !== 0) throw new Error(`misaligned access at 0x${x.toString(16)}`);
  if (x + align > HOST_MEMORY_SIZE) throw new Error(`host memory access out of range at 0x${x.toString(16)}`);
  return x;
};

export const load32 = (a) => view.getInt32(addr(a, 4), true);
export const load16 = (a) => view.getUint16(addr(a, 2), true);
export const load8 = (a) => view.getUint8(addr(a, 1));
export const store32 = (a, v) => view.setInt32(addr(a, 4), v | 0, true);
export const store16 = (a, v) => view.setUint16(addr(a, 2), v & 0xffff, true);
export const store8 = (a, v) => view.setUint8(addr(a, 1), v & 0xff);

export const CR = Object.freeze({ tvec: 0, epc: 1, epsr: 2, cause: 3, badva: 4, ptbr: 5, scratch: 6, pgctl: 7 });
export const PORT = Object.freeze({
  console: 0x10, consoleStatus: 0x11, timerPeriod: 0x20, timerAck: 0x21, cycles: 0x22,
  diskSector: 0x30, diskAddress: 0x31, diskCommand: 0x32, diskStatus: 0x33, power: 0xf0,
  cpuId: 0x40, cpuCount: 0x41, cpuStart: 0x42, cpuStartAddress: 0x43, ipi: 0x44, ipiAck: 0x45,
});
export const PSR = Object.freeze({ IE: 1, SU: 2, UF_MASK: 0xff00 });

export function outPort(port, value) {
  switch (port) {
    case PORT.console:
      output.push(value & 0xff);
      return;
    case PORT.power:
      throw new PowerOff(value & 0xff);
    default:
      throw new Error(`outPort(0x${port.toString(16)}) is not available on the host`);
  }
}

export function inPort(port) {
  switch (port) {
    case PORT.console:
      return inputPos < input.length ? input[inputPos++] : -1;
    case PORT.consoleStatus:
      return inputPos < input.length ? 1 : 0;
    case PORT.cpuId:
      return 0;
    case PORT.cpuCount:
      return 1;
    default:
      throw new Error(`inPort(0x${port.toString(16)}) is not available on the host`);
  }
}

export function addressOf(target) {
  if (typeof target === "string") {
    let a = strings.get(target);
    if (a === undefined) {
      const bytes = new TextEncoder().encode(target);
      a = nextString;
      memory.set(bytes, a);
      memory[a + bytes.length] = 0;
      nextString = (a + bytes.length + 4) & ~3;
      strings.set(target, a);
    }
    return a;
  }
  if (typeof target === "function") {
    let a = functions.get(target);
    if (a === undefined) functions.set(target, (a = HOST_FUNCTION_BASE + 4 * functions.size));
    return a;
  }
  throw new Error("addressOf(typed array) is not available on the host");
}

export const cli = unavailable("cli");
export const sti = unavailable("sti");
export const halt = unavailable("halt");
export const readPsr = unavailable("readPsr");
export const writePsr = unavailable("writePsr");
export const readCr = unavailable("readCr");
export const writeCr = unavailable("writeCr");
export const tlbFlush = unavailable("tlbFlush");
export const tlbInvalidate = unavailable("tlbInvalidate");
export const syscall = unavailable("syscall");
export const hypercall = unavailable("hypercall");
export const writePte = unavailable("writePte");
export const readPte = unavailable("readPte");
export const mmioRead32 = unavailable("mmioRead32");
export const mmioWrite32 = unavailable("mmioWrite32");
export const asm = unavailable("asm");

// ---- multiprocessor: one CPU on the host ----
export const atomicSwap = (a, v) => {
  const at = addr(a, 4);
  const old = view.getInt32(at, true);
  view.setInt32(at, v | 0, true);
  return old;
};
export const atomicAdd = (a, v) => {
  const at = addr(a, 4);
  const old = view.getInt32(at, true);
  view.setInt32(at, (old + v) | 0, true);
  return old;
};
export const cpuPause = () => {};
export const cpuId = () => 0;
export const cpuCount = () => 1;
export function startCpu(n) {
  throw new Error(`startCpu(${n}): the host has one CPU (cpuCount() is 1); run on the emulated machine with --cpus N`);
}
export function sendIpi(n) {
  throw new Error(`sendIpi(${n}): the host has one CPU and no inter-processor interrupts`);
}
export function spinLock(a) {
  if (atomicSwap(a, 1) !== 0) throw new Error(`spinLock: the lock at 0x${(a >>> 0).toString(16)} is already held, and the host's one CPU would spin forever`);
}
export const spinUnlock = (a) => store32(a, 0);
