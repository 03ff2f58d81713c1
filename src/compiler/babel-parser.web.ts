// Babel's parser for parse.ts in a browser bundle (the playground): a plain
// import, which the bundler bundles. package.json's "browser" field puts this
// file in place of babel-parser.ts, which loads it with Node's `require`
// (a Node builtin, which a browser bundle must not reach).

export { parse } from "@babel/parser";
