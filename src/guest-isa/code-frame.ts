// @babel/code-frame for diagnostics.ts, loaded the first time a frame is
// printed, with Node's CommonJS `require`.
//
// A static import would load the package (and picocolors, js-tokens) in
// every process at start-up, ~10 ms, though only a command that reports a
// source error prints a frame (docs/speed-history.md "Ninth round: start-up").
// `sourceFrame` is synchronous, so the late load is a `require`, which a
// browser bundle must not reach: package.json's "browser" field puts
// code-frame.web.ts (a plain import) in this file's place there.

import { createRequire } from "node:module";
import type * as CodeFrame from "@babel/code-frame";

let loaded: typeof CodeFrame.codeFrameColumns | undefined;

export const codeFrameColumns: typeof CodeFrame.codeFrameColumns = (...args) => {
  loaded ??= (createRequire(import.meta.url)("@babel/code-frame") as typeof CodeFrame).codeFrameColumns;
  return loaded(...args);
};
