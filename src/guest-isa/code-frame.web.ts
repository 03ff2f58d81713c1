// @babel/code-frame for diagnostics.ts in a browser bundle (the playground):
// a plain import, which the bundler bundles. package.json's "browser" field
// puts this file in place of code-frame.ts, which loads the package late
// with Node's `require`.

export { codeFrameColumns } from "@babel/code-frame";
