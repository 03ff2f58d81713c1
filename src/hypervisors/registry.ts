// The back ends by name, each loaded on demand: loadBackend("xen") imports
// xen/index.ts (its monitor, replacement tables and the VMM's sources and
// assembler) and nothing of the other four. For callers that run the one
// back end they are given at run time (`previrt run`, issue 16): a run then
// loads and builds only what its back end needs. index.ts is the registry
// with every back end loaded, for callers that need them all or synchronously.

import { UserError } from "../guest-isa/diagnostics.js";
import type { Backend } from "./backend.js";
import { BACKEND_NAMES, type BackendName } from "./backend-names.js";

export { BACKEND_NAMES, type BackendName } from "./backend-names.js";

/** Each back end's module, by --hv name (one per name of backend-names.ts: the type says so). */
const LOADERS: { readonly [N in BackendName]: () => Promise<Backend> } = {
  bare: async () => (await import("./bare/index.js")).bare,
  hvm: async () => (await import("./hvm/index.js")).hvm,
  trap: async () => (await import("./trap/index.js")).trap,
  xen: async () => (await import("./xen/index.js")).xen,
  l4: async () => (await import("./l4/index.js")).l4,
};

/** The error for a name that is no back end: it lists the valid ones. */
export function unknownBackend(name: string): UserError {
  return new UserError(`unknown back end '${name}' (valid: ${BACKEND_NAMES.join(", ")})`);
}

/** Loads one back end by its --hv name (the same object as index.ts's `backends.get(name)`); a UserError for an unknown name. */
export async function loadBackend(name: string): Promise<Backend> {
  const load = Object.hasOwn(LOADERS, name) ? LOADERS[name as BackendName] : undefined;
  if (!load) throw unknownBackend(name);
  return load();
}
