// G32 assembly highlighting for the playground's editor and listings: a
// CodeMirror StreamLanguage whose mnemonics, pseudo-instructions, registers
// and control registers come from the ISA tables (src/guest-isa), the one
// source of truth — an instruction added there is highlighted here with no
// edit. Sensitive instructions (the ones the annotator wraps in sites) get a
// token of their own, so a student sees them before building.

import { HighlightStyle, StreamLanguage, syntaxHighlighting, type StringStream } from "@codemirror/language";
import { tags } from "@lezer/highlight";
import { INSTRUCTIONS } from "../guest-isa/isa-table.js";
import { PSEUDO_INSTRUCTIONS } from "../guest-isa/pseudo-table.js";
import { ABI_NAMES, CR_NAMES } from "../guest-isa/registers.js";

const MNEMONICS = new Set<string>([...INSTRUCTIONS.map((r) => r.mnemonic), ...PSEUDO_INSTRUCTIONS.map((p) => p.mnemonic)]);
const SENSITIVE = new Set<string>(INSTRUCTIONS.filter((r) => r.sensitive).map((r) => r.mnemonic));
const REGISTERS = new Set<string>([...ABI_NAMES, ...Array.from({ length: 16 }, (_, i) => `r${i}`), ...CR_NAMES]);

/** How one token of G32 assembly is classified (also used for the read-only listings). */
export type AsmToken = "comment" | "string" | "number" | "label" | "directive" | "sensitive" | "mnemonic" | "register" | "name" | null;

interface State {
  /** Whether the statement's mnemonic (or directive) has been seen on this line. */
  sawOp: boolean;
}

function token(stream: StringStream, state: State): AsmToken {
  if (stream.sol()) state.sawOp = false;
  if (stream.eatSpace()) return null;
  if (stream.match(/^#.*/)) return "comment";
  if (stream.match(/^"(?:[^"\\]|\\.)*"?/)) return "string";
  if (stream.match(/^'(?:[^'\\]|\\.)'?/)) return "string";
  if (stream.match(/^-?(?:0x[0-9a-f]+|0b[01]+|\d+)\b/i)) return "number";
  const word = stream.match(/^[.A-Za-z_$][\w.$]*/) as RegExpMatchArray | null;
  if (word) {
    const w = word[0];
    if (stream.peek() === ":") {
      stream.next();
      return "label";
    }
    if (!state.sawOp) {
      state.sawOp = true;
      if (w.startsWith(".")) return "directive";
      const lower = w.toLowerCase();
      if (SENSITIVE.has(lower)) return "sensitive";
      if (MNEMONICS.has(lower)) return "mnemonic";
      return "name";
    }
    return REGISTERS.has(w.toLowerCase()) ? "register" : "name";
  }
  stream.next();
  return null;
}

/** Our token classes → the highlight tags' names (CodeMirror resolves them in @lezer/highlight's `tags`). */
const TAG_NAME: Record<Exclude<AsmToken, null>, string> = {
  comment: "comment",
  string: "string",
  number: "number",
  label: "labelName",
  directive: "meta",
  sensitive: "keyword",
  mnemonic: "operatorKeyword",
  register: "variableName.special",
  name: "variableName",
};

export const g32Assembly = StreamLanguage.define<State>({
  name: "g32-assembly",
  startState: () => ({ sawOp: false }),
  token: (stream, state) => {
    const t = token(stream, state);
    return t === null ? null : TAG_NAME[t];
  },
  languageData: { commentTokens: { line: "#" } },
});

/**
 * The editor's colours for G32 assembly: the same classes (style.css) as the
 * read-only listings, scoped to this language so TypeScript keeps its own.
 */
export const g32Highlight = syntaxHighlighting(
  HighlightStyle.define(
    [
      { tag: tags.comment, class: "tok-comment" },
      { tag: tags.string, class: "tok-string" },
      { tag: tags.number, class: "tok-number" },
      { tag: tags.labelName, class: "tok-label" },
      { tag: tags.meta, class: "tok-directive" },
      { tag: tags.keyword, class: "tok-sensitive" },
      { tag: tags.operatorKeyword, class: "tok-mnemonic" },
      { tag: tags.special(tags.variableName), class: "tok-register" },
    ],
    { scope: g32Assembly },
  ),
);

/** A minimal StringStream over one line, so the listings use the editor's token() without an editor. */
class LineStream {
  pos = 0;
  start = 0;
  constructor(readonly string: string) {}
  sol(): boolean {
    return this.pos === 0;
  }
  eatSpace(): boolean {
    const start = this.pos;
    while (this.pos < this.string.length && /\s/.test(this.string[this.pos])) this.pos++;
    return this.pos > start;
  }
  match(re: RegExp): RegExpMatchArray | null {
    const m = re.exec(this.string.slice(this.pos));
    if (!m || m.index !== 0) return null;
    this.pos += m[0].length;
    return m;
  }
  peek(): string | undefined {
    return this.string[this.pos];
  }
  next(): string | undefined {
    return this.string[this.pos++];
  }
}

/** Splits one line of assembly into classified pieces (for the read-only listings). */
export function tokenizeLine(line: string): { text: string; token: AsmToken }[] {
  const out: { text: string; token: AsmToken }[] = [];
  const state: State = { sawOp: false };
  const s = new LineStream(line);
  while (s.pos < line.length) {
    s.start = s.pos;
    const t = token(s as unknown as StringStream, state);
    out.push({ text: line.slice(s.start, s.pos), token: t });
  }
  return out;
}
