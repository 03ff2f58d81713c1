// Public surface of the annotator (the afterburner pass, docs/design.md §3):
// annotate() turns assembly into annotated assembly with its .softlayer
// table; verifyImage() and formatSiteListing() read the table back out of a
// linked ELF. The table validator itself lives in guest-isa/site-validate.ts,
// shared with the rewriter.
export { annotate, isAnnotated, type AnnotateResult, type AnnotatedSite, type ExemptRegion } from "./annotate.js";
export { PLANNED_SITE_WORDS, siteLength, siteWords, type PaddingRow } from "./padding.js";
export { LABEL_PREFIX } from "./labels.js";
export { formatSiteListing, formatRecordOperands } from "./site-listing.js";
export { formatVerifyReport, verifyImage, type VerifyReport } from "./verify.js";
export { validateSiteTable, type SiteProblem, type SiteValidation } from "../guest-isa/site-validate.js";
export type { MapOptions, Origin } from "./source-map.js";
