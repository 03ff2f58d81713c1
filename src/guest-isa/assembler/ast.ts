// The syntax tree of G32 assembly, produced by parser.ts and consumed by the
// assembler (layout, encoding, linking) and the annotator (which edits the
// original text, so every node keeps its offsets into the source).

export interface Loc {
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
  /** 0-based character offset into the file's text. */
  offset: number;
}

export type UnaryOp = "-" | "~" | "+";
export type BinaryOp = "*" | "/" | "%" | "+" | "-" | "<<" | ">>" | "&" | "^" | "|";

export type Expr =
  | { kind: "num"; value: number; loc: Loc }
  /** `slot`: streamed statements only (LabelStatement.slot). */
  | { kind: "sym"; name: string; loc: Loc; slot?: number }
  /** `.`: the address of the current statement. */
  | { kind: "here"; loc: Loc }
  | { kind: "unary"; op: UnaryOp; arg: Expr; loc: Loc }
  | { kind: "binary"; op: BinaryOp; left: Expr; right: Expr; loc: Loc }
  /** `%hi(x)` / `%lo(x)`. */
  | { kind: "reloc"; fn: "hi" | "lo"; arg: Expr; loc: Loc };

export type Operand =
  | { kind: "reg"; reg: number; loc: Loc }
  | { kind: "expr"; expr: Expr; loc: Loc }
  /** `off(reg)` or `(reg)`. */
  | { kind: "mem"; offset: Expr | undefined; base: number; loc: Loc }
  /** A string literal (directive arguments), already unescaped to bytes. */
  | { kind: "string"; bytes: Uint8Array; loc: Loc };

export interface LabelStatement {
  kind: "label";
  name: string;
  loc: Loc;
  /**
   * Streamed statements only (AssemblySource.statements; the build's
   * annotate pass gives one to each site label): a label that no source text
   * can name, referred to only by `{ kind: "sym", slot }` expressions among
   * the same file's streamed statements. Pass 1 keeps its position as a row
   * of typed columns (units.ts LabelSlots), not as a symbol.
   */
  slot?: number;
}

export interface InstructionStatement {
  kind: "instruction";
  /** Lower-cased; may be a real instruction or a pseudo-instruction. */
  mnemonic: string;
  operands: Operand[];
  loc: Loc;
  /** Offset just past the statement's last character (before any comment). */
  end: number;
}

export interface DirectiveStatement {
  kind: "directive";
  /** Lower-cased, with its dot: ".word". */
  name: string;
  args: Operand[];
  loc: Loc;
  end: number;
}

export type Statement = LabelStatement | InstructionStatement | DirectiveStatement;

export interface ParsedSource {
  file: string;
  text: string;
  statements: Statement[];
  /** Offset of the first character of each line (index 0 = line 1). */
  lineStarts: number[];
}
