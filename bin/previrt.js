#!/usr/bin/env node
// The `previrt` command: runs the compiled CLI (built by `npm install` / `npm run build`).
import { main } from "../dist/src/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
