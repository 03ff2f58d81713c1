// Symbol resolution (the linker's second half), between layout.ts and pass 2:
//
//  - the global table: every `.global` symbol of every file; a second
//    definition is an error at that definition, naming the first;
//  - lookup from a file: its own symbols (labels and `.equ`s, global or
//    not), then other files' globals, then command-line defines;
//  - label values (contribution base + offset), then deferred `.equ`s;
//  - the entry point (`_start`) and the .symtab entries for the ELF image.

import type { ElfSymbol } from "../elf-types.js";
import type { Expr, Loc } from "./ast.js";
import type { OperandValues } from "./encode-statement.js";
import { evalExpr, type EvalContext } from "./expressions.js";
import { formatLoc } from "./pass1.js";
import { AsmError, SymKind, type FileUnit, type Reporter, type Sym } from "./units.js";

/** Symbol lookup and pass-2 values (the EvalContext of expressions.ts, the OperandValues of encode-statement.ts). */
export class SymbolResolver implements EvalContext, OperandValues {
  readonly globals = new Map<string, Sym>();
  unit: FileUnit;
  here = 0;

  constructor(
    readonly units: readonly FileUnit[],
    readonly defines: ReadonlyMap<string, Sym>,
    readonly report: Reporter,
  ) {
    this.unit = units[0];
    for (const u of units) {
      for (const s of u.symbols.values()) {
        if (!s.global) continue;
        const first = this.globals.get(s.name);
        if (first) this.report.error(s.loc!, `duplicate global symbol '${s.name}' (first defined at ${formatLoc(first.loc!)})`);
        else this.globals.set(s.name, s);
      }
    }
  }

  lookup(unit: FileUnit, name: string): Sym | undefined {
    return unit.symbols.get(name) ?? this.globals.get(name) ?? this.defines.get(name);
  }

  value(e: Expr): number {
    return evalExpr(e, this);
  }

  isSymbol(name: string): boolean {
    return this.lookup(this.unit, name) !== undefined;
  }

  explainUndefined(unit: FileUnit, name: string): string {
    for (const u of this.units) {
      if (u !== unit && u.symbols.has(name)) return ` (defined in ${u.file} but not .global)`;
    }
    return "";
  }

  /** After layout: labels get their addresses, then `.equ`s that needed them are evaluated (errors reported once, here). */
  resolveValues(): void {
    for (const u of this.units) {
      for (const s of u.symbols.values()) {
        if (s.kind === SymKind.Label) {
          s.value = (s.contrib!.base + s.offset) | 0;
          s.resolved = true;
        }
      }
    }
    for (const u of this.units) {
      for (const s of u.symbols.values()) {
        if (s.kind !== SymKind.Deferred || s.resolved) continue;
        this.unit = u;
        try {
          evalExpr({ kind: "sym", name: s.name, loc: s.loc! }, this);
        } catch (e) {
          if (!(e instanceof AsmError)) throw e;
          this.report.error(e.loc, e.message);
          s.value = 0;
          s.resolved = true;
        }
      }
    }
  }

  /** The address of `_start`: a global one, else the first file's that defines one. */
  entry(): { value: number; loc: Loc | undefined } | { error: string } {
    const g = this.globals.get("_start");
    if (g) return { value: g.value >>> 0, loc: g.loc };
    for (const u of this.units) {
      const s = u.symbols.get("_start");
      if (s) return { value: s.value >>> 0, loc: s.loc };
    }
    // `-D _start=N`: a number, which took the name from the start-up's label (reported there).
    if (this.defines.has("_start")) return { error: "undefined entry symbol '_start' (-D _start gives it a number; the entry must be a label)" };
    // A `main` that is not `.global`: the start-up that calls main is linked in only for an exported one.
    const main = this.units.find((u) => {
      const s = u.symbols.get("main");
      return s?.kind === SymKind.Label && !s.global;
    });
    if (main !== undefined) return { error: `undefined entry symbol '_start' (${main.file} defines 'main' but not '.global main', which the start-up needs)` };
    return { error: "undefined entry symbol '_start'" };
  }

  /** .symtab entries: every label and `.equ` except `.L` names, in input order. */
  elfSymbols(sectionOf: (s: Sym) => string | undefined): ElfSymbol[] {
    const out: ElfSymbol[] = [];
    for (const u of this.units) {
      for (const s of u.symbols.values()) {
        if (s.name.startsWith(".L")) continue;
        if (s.kind === SymKind.Label) {
          const section = sectionOf(s);
          out.push({ name: s.name, value: s.value >>> 0, size: 0, global: s.global, kind: section === ".text" ? "func" : "object", section });
        } else {
          out.push({ name: s.name, value: s.value >>> 0, size: 0, global: s.global, kind: "notype" });
        }
      }
    }
    return out;
  }
}
