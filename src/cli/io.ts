// Where a command writes: the CLI's one output layer. The real CLI writes to
// file descriptors 1 and 2 synchronously; tests pass buffers and run
// commands in-process.
//
// Writes are synchronous (fs.writeSync) so that a reader that goes away is
// noticed at the write that fails, even inside a long synchronous guest run:
// EPIPE on stdout throws OutputClosed, which main() turns into a quiet exit
// with status 141 (128 + SIGPIPE, what a shell reports for a Unix tool killed
// by a closed pipe). A failing stderr is dropped: there is nowhere left to
// report it.
//
// Also the command line's own bytes (commandLineBytes), which bin/previrt.js
// hands main() beside process.argv, to refuse an argument that is not UTF-8.

import { readFileSync, writeSync } from "node:fs";
import { isatty } from "node:tty";

export interface CliIO {
  /** Standard output: text, or bytes (an ELF written with `-o -`). */
  out(data: string | Uint8Array): void;
  err(text: string): void;
  /** Whether stderr is a terminal: progress redraws one line there, else prints plain lines. */
  stderrIsTTY: boolean;
  /** Console input for the guest, when a command runs one; undefined reads process stdin. */
  stdin?: Uint8Array;
}

/** Thrown by a write to a closed stdout (EPIPE): the command stops and previrt exits quietly. */
export class OutputClosed extends Error {
  constructor() {
    super("standard output closed");
    this.name = "OutputClosed";
  }
}

/** The exit status after stdout was closed under us: 128 + SIGPIPE, as for any Unix tool. */
export const OUTPUT_CLOSED_STATUS = 141;

const encoder = new TextEncoder();
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `data` to `fd`, waiting out EAGAIN on a non-blocking pipe. */
function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** The IOs whose stderr ends in an unterminated guest console line (consoleToStderr). */
const openConsoleLine = new WeakSet<CliIO>();

/**
 * The guest console written to stderr (`--json -` takes stdout): remembers
 * whether the guest left its last line open, so that what previrt says next
 * (errorOut) starts a line of its own instead of ending the guest's.
 */
export function consoleToStderr(io: CliIO): (text: string) => void {
  return (text) => {
    if (text === "") return;
    io.err(text);
    if (text.endsWith("\n")) openConsoleLine.delete(io);
    else openConsoleLine.add(io);
  };
}

/** previrt's own text on stderr (`previrt: error: …`, a report line), on a line of its own after consoleToStderr's. */
export function errorOut(io: CliIO, text: string): void {
  if (openConsoleLine.delete(io)) io.err("\n");
  io.err(text);
}

let stderrClosed = false;

export const processIO: CliIO = {
  out(data) {
    try {
      writeAll(1, data);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EPIPE" || code === "ECONNRESET") throw new OutputClosed();
      throw e;
    }
  },
  err(text) {
    if (stderrClosed) return;
    try {
      writeAll(2, text);
    } catch {
      stderrClosed = true;
    }
  },
  stderrIsTTY: isatty(2),
};

/**
 * The last `count` arguments of this process's command line as the system
 * gave them, bytes not yet decoded (Linux's /proc/self/cmdline); undefined
 * where there is no such file. Node decodes process.argv as UTF-8 and puts
 * U+FFFD for a byte that is not, and these bytes tell such an argument
 * (main's notUtf8Argument) from one that holds U+FFFD itself.
 */
export function commandLineBytes(count: number): Uint8Array[] | undefined {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync("/proc/self/cmdline");
  } catch {
    return undefined;
  }
  const args: Uint8Array[] = [];
  for (let start = 0; start < bytes.length; ) {
    const end = bytes.indexOf(0, start);
    args.push(bytes.subarray(start, end < 0 ? bytes.length : end));
    start = end < 0 ? bytes.length : end + 1;
  }
  return args.length >= count ? args.slice(args.length - count) : undefined;
}

/** An IO that records everything, for tests (bytes written to stdout are kept as latin1 text and in stdoutBytes). */
export function bufferIO(stdin?: Uint8Array): CliIO & { stdout: string; stderr: string; stdoutBytes(): Uint8Array } {
  const chunks: Uint8Array[] = [];
  const io = {
    stdout: "",
    stderr: "",
    stderrIsTTY: false,
    stdin,
    out(t: string | Uint8Array) {
      chunks.push(typeof t === "string" ? encoder.encode(t) : t.slice());
      io.stdout += typeof t === "string" ? t : Buffer.from(t).toString("latin1");
    },
    err(t: string) {
      io.stderr += t;
    },
    stdoutBytes: () => new Uint8Array(Buffer.concat(chunks)),
  };
  return io;
}
