// The load-time rewriter: a pure transform of an ElfImage for a back end.
export * from "./replacements.js";
export * from "./rewrite.js";
export { compileTemplate, type CompiledTemplate, type SiteFields } from "./template.js";
export { vmmSiteRanges, type VmmCodeRange } from "./protected-ranges.js";
