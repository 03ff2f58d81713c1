// What a back end wants done with each kind of site: the per-back-end
// replacement table is data (one entry per site kind), read by rewrite.ts.
//
//   native  keep the original instruction (bare metal; hvm and trap, whose
//           monitors catch the instruction itself)
//   inline  replace it with a short template of guest code (e.g. a store to
//           the virtual interrupt flag in the soft-layer window)
//   call    replace it with `jalr k0, ENTRY(zero)` into an entry of the
//           in-place VMM, which decodes the site from its return address
//
// An entry may choose per operand (`byImm`: keyed by the site's recorded
// control-register or port number).
//
// A template that does not fit the site's slot is still correct: the slot
// gets one `jalr k0, STUB(zero)` into an out-of-line copy in the window
// (strategy "stub"). Every site can always be rewritten; padding buys speed.

import { SITE_KINDS } from "../guest-isa/softlayer.js";

export type Replacement =
  | { readonly strategy: "native"; readonly byImm?: ByImm }
  | { readonly strategy: "inline"; readonly code: readonly string[]; readonly byImm?: ByImm }
  | { readonly strategy: "call"; readonly entry: string; readonly byImm?: ByImm };

/**
 * Per-operand exceptions: the replacement for a site whose recorded `imm`
 * (control-register number, port) is the key. E.g. `mtcr` is one store to the
 * window for most control registers, but a call into the VMM for ptbr/pgctl.
 */
export type ByImm = Readonly<Record<number, Replacement>>;

/** The replacement that applies to a site with this recorded imm. */
export function replacementFor(r: Replacement, imm: number): Replacement {
  return r.byImm?.[imm] ?? r;
}

/** Replacements by site-kind name ("cli", "pte-store", …); kinds not listed stay native. */
export type ReplacementTable = Readonly<Partial<Record<string, Replacement>>>;

/** What the rewriter did at one site. */
export type Strategy = "native" | "inline" | "call" | "stub";
export const STRATEGIES: readonly Strategy[] = ["native", "inline", "call", "stub"];

/** The soft-layer window as the rewriter sees it: symbols for templates and room for stubs. */
export interface WindowLayout {
  /** Absolute addresses of the in-place VMM's entries and data, by name. */
  readonly symbols: Readonly<Record<string, number>>;
  /** Out-of-line stubs go in [stubBase, stubLimit); it must lie in the top 128 KiB so `jalr k0, off(zero)` reaches it. */
  readonly stubBase: number;
  readonly stubLimit: number;
  /** A window word where a stub keeps its return address while its template uses k0. */
  readonly stubSaveSymbol: string;
}

/** A back end as the rewriter needs it. */
export interface RewriteTarget {
  readonly name: string;
  readonly replacements: ReplacementTable;
  /** Required when any replacement is not native. */
  readonly window?: WindowLayout;
}

/** Checks that a table names only real site kinds (a typo would silently leave sites native). */
export function checkReplacementTable(target: RewriteTarget): void {
  for (const kind of Object.keys(target.replacements)) {
    if (!SITE_KINDS.has(kind)) throw new Error(`back end ${target.name}: replacement for unknown site kind '${kind}'`);
  }
  const all = Object.values(target.replacements).flatMap((r) => (r ? [r, ...Object.values(r.byImm ?? {})] : []));
  for (const [kind, r] of Object.entries(target.replacements)) {
    if (Object.values(r?.byImm ?? {}).some((sub) => sub.byImm)) throw new Error(`back end ${target.name}: byImm entries of '${kind}' cannot nest`);
  }
  const needsWindow = all.some((r) => r.strategy !== "native");
  if (needsWindow && !target.window) throw new Error(`back end ${target.name}: non-native replacements need a window layout`);
}
