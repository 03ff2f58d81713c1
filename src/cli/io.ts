// Where a command writes. The real CLI writes to the process streams; tests
// pass buffers and run commands in-process.

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal (progress displays only then). */
  isTTY: boolean;
  /** Console input for the guest, when a command runs one; undefined reads process stdin. */
  stdin?: Uint8Array;
}

export const processIO: CliIO = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  isTTY: Boolean(process.stdout.isTTY),
};

/** An IO that records everything, for tests. */
export function bufferIO(stdin?: Uint8Array): CliIO & { stdout: string; stderr: string } {
  const io = {
    stdout: "",
    stderr: "",
    isTTY: false,
    stdin,
    out(t: string) {
      io.stdout += t;
    },
    err(t: string) {
      io.stderr += t;
    },
  };
  return io;
}
