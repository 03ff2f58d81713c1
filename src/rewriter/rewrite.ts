// The load-time rewriter: ElfImage + a back end's replacement table →
// a patched image, the out-of-line stubs for the soft-layer window, and a
// record of every site (before/after words, strategy) from which a site can
// be restored or re-patched for another back end later.
//
// Validate-then-patch, like Linux's alternatives: the whole `.softlayer`
// table is checked first (validateSiteTable) and a bad binary is refused,
// naming the first bad record, before a byte is written. The input image is
// never modified; the patched image has its own copy of `.text`.

import { UserError } from "../guest-isa/diagnostics.js";
import { encodeInstruction } from "../guest-isa/encoding.js";
import { BY_OPCODE } from "../guest-isa/isa-table.js";
import { findSection, SOFTLAYER_SECTION, type ElfImage } from "../guest-isa/elf-types.js";
import { checkImageLayout } from "../guest-isa/image-check.js";
import { K0, REG } from "../guest-isa/registers.js";
import { validateSiteTable } from "../guest-isa/site-validate.js";
import { recordAt, SITE_FLAG_EXEMPT, siteKindName, type SiteColumns, type SiteRecord } from "../guest-isa/softlayer.js";
import { checkReplacementTable, replacementFor, STRATEGIES, type Replacement, type RewriteTarget, type Strategy } from "./replacements.js";
import { compileTemplate, type CompiledTemplate } from "./template.js";

export interface SiteOutcome {
  readonly record: SiteRecord;
  readonly kindName: string;
  readonly strategy: Strategy;
  /** The site's words before rewriting (original instruction + padding): what restoring writes back. */
  readonly before: Uint32Array;
  /** The site's words after rewriting. */
  readonly after: Uint32Array;
  /** For strategy "stub": where its out-of-line code lives. */
  readonly stubAddr?: number;
}

/**
 * A site's outcome, its words read on demand from the original and patched
 * .text (one object per site, no copies: rewriting is on the load path).
 */
class SiteView implements SiteOutcome {
  constructor(
    readonly record: SiteRecord,
    readonly kindName: string,
    readonly strategy: Strategy,
    readonly stubAddr: number | undefined,
    private readonly original: Uint32Array,
    private readonly patched: Uint32Array,
    private readonly word: number,
  ) {}
  get before(): Uint32Array {
    return this.original.subarray(this.word, this.word + (this.record.length >>> 2));
  }
  get after(): Uint32Array {
    return this.patched.subarray(this.word, this.word + (this.record.length >>> 2));
  }
}

export interface Stub {
  readonly addr: number;
  readonly words: Uint32Array;
}

export interface RewriteResult {
  readonly target: string;
  /** The patched image (shares every section but `.text` with the input). */
  readonly image: ElfImage;
  readonly sites: readonly SiteOutcome[];
  readonly stubs: readonly Stub[];
  readonly counts: Readonly<Record<Strategy, number>>;
  /** `.noannotate` regions recorded in the table (left native on purpose). */
  readonly exemptRegions: number;
  /** Whether the binary had a `.softlayer` table at all. */
  readonly annotated: boolean;
}

/** `j .+4n`, which skips n words of padding from the first of them: encoded once per length. */
const JUMPS = new Map<number, number>();
function jumpOver(words: number): number {
  let w = JUMPS.get(words);
  if (w === undefined) {
    w = encodeInstruction("jal", { a: REG.zero, imm: words * 4 });
    JUMPS.set(words, w);
  }
  return w;
}

/** Compiled templates per target, so a target's templates are parsed once per process. */
const compiledByTarget = new WeakMap<RewriteTarget, Map<string, CompiledTemplate>>();

function templatesOf(target: RewriteTarget): Map<string, CompiledTemplate> {
  let m = compiledByTarget.get(target);
  if (!m) {
    checkReplacementTable(target);
    const compiled = new Map<string, CompiledTemplate>();
    m = compiled;
    const add = (key: string, r: Replacement) => {
      if (r.strategy === "native") return;
      const lines = r.strategy === "inline" ? r.code : [`jalr k0, ${r.entry}(zero)`];
      compiled.set(key, compileTemplate(`${target.name}/${key}`, lines, target.window!.symbols));
    };
    for (const [kind, r] of Object.entries(target.replacements)) {
      if (!r) continue;
      add(kind, r);
      for (const [imm, sub] of Object.entries(r.byImm ?? {})) add(`${kind}#${imm}`, sub);
    }
    compiledByTarget.set(target, m);
  }
  return m;
}

/** Reads and validates the table as columns; throws UserError naming the first bad record. */
export function readSiteColumns(image: ElfImage): SiteColumns | undefined {
  const section = findSection(image, SOFTLAYER_SECTION);
  if (!section) return undefined;
  const { problems, columns } = validateSiteTable(image);
  if (problems.length) {
    const p = problems[0];
    const where = p.record !== undefined ? `record ${p.record}${p.addr !== undefined ? ` (0x${(p.addr >>> 0).toString(16).padStart(8, "0")})` : ""}: ` : "";
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? "s" : ""})` : "";
    // The validator words a header problem for a reader without context ("malformed .softlayer table: …"); said once here.
    throw new UserError(`bad .softlayer table: ${where}${p.message.replace(/^malformed \.softlayer table: /, "")}${more}`);
  }
  return columns!;
}

const STRATEGY_CODE: Readonly<Record<Strategy, number>> = { native: 0, inline: 1, call: 2, stub: 3 };

export function rewriteImage(image: ElfImage, target: RewriteTarget): RewriteResult {
  // The layout rules the offsets below rely on (.text allocated PROGBITS at a word-aligned address, …):
  // the same check the ELF reader, the validator and the loader make.
  checkImageLayout(image);
  const c = readSiteColumns(image);
  const templates = templatesOf(target);
  const counts = Object.fromEntries(STRATEGIES.map((s) => [s, 0])) as Record<Strategy, number>;
  if (!c) return { target: target.name, image, sites: [], stubs: [], counts, exemptRegions: 0, annotated: false };

  const textIndex = image.sections.findIndex((s) => s.name === ".text");
  const text = image.sections[textIndex];
  // Word views of the original and the patched .text (G32 and every host Node runs on are little-endian).
  // A fresh copy (not .slice(): on a Node Buffer — readElf(readFileSync(f)) — that is a view into the file's bytes).
  const patched = new Uint8Array(text.data);
  const out = new Uint32Array(patched.buffer, 0, patched.length >>> 2);
  const original = (text.data.byteOffset & 3) === 0 ? new Uint32Array(text.data.buffer, text.data.byteOffset, text.data.length >>> 2) : new Uint32Array(new Uint8Array(text.data).buffer);
  const stubs: Stub[] = [];
  let stubNext = target.window?.stubBase ?? 0;
  const stubByBody = new Map<Uint32Array, number>();
  // Per site kind (a byte), resolved once: its name, the back end's entry, its compiled template.
  const kindNames: string[] = [];
  const declaredByKind: (Replacement | undefined)[] = [];
  const templateByKind: (CompiledTemplate | undefined)[] = [];
  for (let k = 0; k < 256; k++) {
    kindNames.push(siteKindName(k));
    declaredByKind.push(target.replacements[kindNames[k]]);
    templateByKind.push(templates.get(kindNames[k]));
  }
  // What was done, per record, as columns; the SiteOutcome objects are made only if someone asks.
  const strategyOf = new Uint8Array(c.count);
  const stubOf = new Map<number, number>();
  let exemptRegions = 0;
  const textAddr = text.addr >>> 0;

  for (let i = 0; i < c.count; i++) {
    if (c.flags[i] & SITE_FLAG_EXEMPT) {
      exemptRegions++;
      continue;
    }
    const kind = c.kind[i];
    const imm = c.imm[i];
    const slotWords = c.length[i] >>> 2;
    const at = (c.addr[i] - textAddr) >>> 2;
    const declared = declaredByKind[kind];
    const replacement = declared && (declared.byImm ? replacementFor(declared, imm) : declared);
    const template = replacement === declared ? templateByKind[kind] : templates.get(`${kindNames[kind]}#${imm}`);
    let strategy: Strategy;
    let used: number; // words of the slot the replacement occupies
    if (!template || !replacement || replacement.strategy === "native") {
      strategy = "native";
      used = 1;
    } else {
      // The record keeps the low 16 bits of imm: memory offsets are signed (port and CR numbers are small).
      const body = template.encode(c.regA[i], c.regB[i], (imm << 16) >> 16);
      if (body.length <= slotWords) {
        strategy = replacement.strategy === "call" ? "call" : "inline";
        for (let k = 0; k < body.length; k++) out[at + k] = body[k]; // (TypedArray.set is slow for a few words)
        used = body.length;
      } else {
        strategy = "stub";
        // Stubs are position-independent, and a template's words for equal fields are one cached array:
        // sites that need the same code share one stub.
        let stubAddr = stubByBody.get(body);
        if (stubAddr === undefined) {
          const stub = buildStub(target, body);
          stubAddr = stubNext;
          stubNext += stub.length * 4;
          if (stubNext > target.window!.stubLimit) throw new UserError(`${target.name}: out of stub space in the soft-layer window at site 0x${c.addr[i].toString(16)}`);
          stubs.push({ addr: stubAddr, words: stub });
          stubByBody.set(body, stubAddr);
        }
        stubOf.set(i, stubAddr);
        out[at] = encodeInstruction("jalr", { a: K0, b: REG.zero, imm: stubAddr | 0 });
        used = 1;
      }
    }
    // One jump over whatever padding is left (none if the replacement fills the slot).
    if (used < slotWords) out[at + used] = jumpOver(slotWords - used);
    counts[strategy]++;
    strategyOf[i] = STRATEGY_CODE[strategy];
  }
  checkPatch(original, out, c, textAddr);

  let sites: SiteOutcome[] | undefined;
  const siteOutcomes = (): SiteOutcome[] => {
    if (sites) return sites;
    sites = [];
    for (let i = 0; i < c.count; i++) {
      if (c.flags[i] & SITE_FLAG_EXEMPT) continue;
      const at = (c.addr[i] - textAddr) >>> 2;
      sites.push(new SiteView(recordAt(c, i), kindNames[c.kind[i]], STRATEGIES[strategyOf[i]], stubOf.get(i), original, out, at));
    }
    return sites;
  };
  // Guarded: the rewriter also runs in a browser (the playground), where there is no process.
  if (globalThis.process?.env?.PREVIRT_DEBUG_REWRITE) for (const s of siteOutcomes()) debugDump(s.record, s.kindName, s.strategy, s.before, s.after);

  const sections = image.sections.slice();
  sections[textIndex] = { ...text, data: patched };
  return {
    target: target.name,
    image: { ...image, sections },
    get sites() {
      return siteOutcomes();
    },
    stubs,
    counts,
    exemptRegions,
    annotated: true,
  };
}

/**
 * Reads the patched .text back: every word outside the sites is the original
 * one, and every site now begins with a known opcode. A failure is a
 * rewriter bug, so it throws a plain Error.
 */
function checkPatch(original: Uint32Array, out: Uint32Array, c: SiteColumns, textAddr: number): void {
  let w = 0;
  const untouchedUpTo = (end: number) => {
    for (; w < end; w++) if (out[w] !== original[w]) throw new Error(`rewriter: word 0x${(textAddr + 4 * w).toString(16)} outside every site changed`);
  };
  for (let i = 0; i < c.count; i++) {
    if (c.flags[i] & SITE_FLAG_EXEMPT) continue;
    const start = (c.addr[i] - textAddr) >>> 2;
    untouchedUpTo(start);
    if (!BY_OPCODE[out[start] & 0x3f]) throw new Error(`rewriter: site 0x${c.addr[i].toString(16)} does not begin with a valid instruction`);
    w = start + (c.length[i] >>> 2);
  }
  untouchedUpTo(out.length);
}

/**
 * An out-of-line stub: saves the return address (k0) so the template may use
 * k0 as scratch, runs the template, restores k0 and returns to the site.
 */
function buildStub(target: RewriteTarget, body: Uint32Array): Uint32Array {
  const save = target.window!.symbols[target.window!.stubSaveSymbol];
  if (save === undefined) throw new Error(`back end ${target.name}: unknown stub save symbol`);
  const out = new Uint32Array(body.length + 3);
  out[0] = encodeInstruction("sw", { a: K0, b: REG.zero, imm: save | 0 });
  out.set(body, 1);
  out[body.length + 1] = encodeInstruction("lw", { a: K0, b: REG.zero, imm: save | 0 });
  out[body.length + 2] = encodeInstruction("jalr", { a: REG.zero, b: K0, imm: 0 });
  return out;
}

/** Writes a site's original words back: the inverse of rewriting it. */
export function restoreSites(result: RewriteResult): ElfImage {
  const textIndex = result.image.sections.findIndex((s) => s.name === ".text");
  const text = result.image.sections[textIndex];
  const data = new Uint8Array(text.data);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (const s of result.sites) {
    const at = s.record.addr - text.addr;
    s.before.forEach((w, i) => view.setUint32(at + 4 * i, w, true));
  }
  const sections = result.image.sections.slice();
  sections[textIndex] = { ...text, data };
  return { ...result.image, sections };
}

function debugDump(rec: SiteRecord, kind: string, strategy: Strategy, before: Uint32Array, after: Uint32Array): void {
  const hex = (a: Uint32Array) => [...a].map((w) => w.toString(16).padStart(8, "0")).join(" ");
  console.error(`rewrite 0x${rec.addr.toString(16).padStart(8, "0")} ${kind} ${strategy}: ${hex(before)} -> ${hex(after)}`);
}
