// Babel's parser for parse.ts, loaded with Node's CommonJS `require`.
//
// @babel/parser is one 500 KB CommonJS file. An ES-module `import` of it
// makes Node run its CommonJS export scanner (cjs-module-lexer) over the
// whole file before loading it: 55–80 ms of every process and worker thread
// that compiles (`previrt kernel`, `build`, `cc`, each `previrt bench`
// worker), against ~20 ms for `require` (docs/speed-history.md "Ninth
// round: start-up"). Same module, same `parse`. The playground's browser bundle
// (and any browser bundle: package.json "browser") uses babel-parser.web.ts.

import { createRequire } from "node:module";
import type * as BabelParser from "@babel/parser";

export const { parse } = createRequire(import.meta.url)("@babel/parser") as typeof BabelParser;
