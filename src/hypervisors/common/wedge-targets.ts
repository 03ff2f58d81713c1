// The rewrite targets of the back ends with an in-place VMM in the window
// (xen, l4): the back end's replacement table (wedge-replacements.ts) and its
// VMM's layout, plus the rows a spinlock cure (spinlock-cures.ts) and
// --passthrough (bypass.ts) put over it — one binary, the rows chosen at load
// time. Each combination is built once and shared.

import type { ReplacementTable, RewriteTarget } from "../../rewriter/index.js";
import { BYPASS_REPLACEMENTS } from "./bypass.js";
import { wedgeLockReplacements, type SpinlockCure } from "./spinlock-cures.js";
import { buildVmm } from "./window.js";

export interface WedgeTargets {
  /** The back end's own rows. */
  target(): RewriteTarget;
  /** With a cure's lock/unlock rows, and with the mmio sites left native when the nvdisk is passed through. */
  targetFor(cure: SpinlockCure, passthrough?: boolean): RewriteTarget;
}

export function wedgeTargets(name: "xen" | "l4", replacements: ReplacementTable): WedgeTargets {
  let plain: RewriteTarget | undefined;
  const withRows: Record<string, RewriteTarget> = {};
  return {
    target: () => (plain ??= { name, replacements, window: buildVmm(name).layout }),
    targetFor(cure, passthrough = false) {
      const key = `${cure}${passthrough ? "+passthrough" : ""}`;
      return (withRows[key] ??= {
        name,
        replacements: { ...replacements, ...wedgeLockReplacements(cure), ...(passthrough ? BYPASS_REPLACEMENTS : {}) },
        window: buildVmm(name).layout,
      });
    },
  };
}
