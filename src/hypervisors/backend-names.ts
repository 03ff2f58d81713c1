// The back ends' --hv names, in the order the help text, the matrix and the
// playground list them (bare, the reference, first): the one list a new back
// end is added to (README "Adding a back end"). Data only, importing nothing,
// so the playground's page (src/web/link.ts) takes it without bundling a back
// end; registry.ts (each back end loaded on demand) and index.ts (every back
// end loaded) key their tables by BackendName, so the compiler refuses a name
// missing from either, or a back end in either missing here.

const NAMES = ["bare", "hvm", "trap", "xen", "l4"] as const;

/** A registered back end's --hv name. */
export type BackendName = (typeof NAMES)[number];

/** Every back end's --hv name, in registry order. */
export const BACKEND_NAMES: readonly string[] = NAMES;
