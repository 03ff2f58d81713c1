#!/usr/bin/env node
// The `previrt` command: runs the compiled CLI (built by `npm install` / `npm run build`).
import module from "node:module";

// Node 22.1+ keeps V8's compiled code of the modules on disk between runs (faster start-up, same code);
// Node 20 has no such API and loads as before (docs/machine.md "Ninth round: start-up").
module.enableCompileCache?.();
const { main } = await import("../dist/src/cli/main.js");
const { commandLineBytes, processIO } = await import("../dist/src/cli/io.js");

// The arguments' bytes too: one that is not UTF-8 is refused by name (Node's process.argv has lost its bytes).
const args = process.argv.slice(2);
const status = await main(args, processIO, commandLineBytes(args.length));
process.exitCode = status;
// Left to itself, Node ends the process only once V8's background compiler threads have finished
// the compiles in flight (code nothing will run now): ~20 ms of a short `previrt run`. So exit at
// once when nothing else is pending — all output written, no server (playground), timer or file
// operation but a close. Otherwise end as usual.
const pending = process.getActiveResourcesInfo().filter((r) => r !== "CloseReq" && r !== "TTYWrap");
if (pending.length === 0 && process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit(status);
