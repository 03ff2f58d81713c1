// The back-end registry (`--hv NAME`) with every back end loaded: `backends`,
// `getBackend`, and runElf / prepareGuest taking a back end by name. What a
// back end is, and the load-time and run steps given one, are in backend.ts;
// a caller that runs one back end it names at run time (`previrt run`) loads
// only that one with registry.ts's loadBackend instead of importing this
// module, which brings in all five (issue 16).
// The machine itself knows no back end.

import { bare } from "./bare/index.js";
import { hvm } from "./hvm/index.js";
import { l4 } from "./l4/index.js";
import { trap } from "./trap/index.js";
import { xen } from "./xen/index.js";
import { prepareGuestOn, runElfOn, type Backend, type PreparedGuest, type RunElfOptions, type RunElfOutcome } from "./backend.js";
import type { ElfImage } from "../guest-isa/elf-types.js";
import { BACKEND_NAMES, unknownBackend, type BackendName } from "./registry.js";

export {
  checkCpuOptions,
  checkCpuValues,
  countVmmEntries,
  hostingBackends,
  inPlaceFirst,
  passthroughBackends,
  prepareGuestOn,
  prepareImage,
  runElfOn,
  spinSites,
  vmmEntryCounters,
  type Backend,
  type CpuOptions,
  type MonitorOptions,
  type PreparedGuest,
  type RunElfOptions,
  type RunElfOutcome,
} from "./backend.js";
export { BACKEND_NAMES, loadBackend, type BackendName } from "./registry.js";

/** Each back end's object, by --hv name (one per name of backend-names.ts: the type says so). */
const LOADED: { readonly [N in BackendName]: Backend } = { bare, hvm, trap, xen, l4 };

/** Every back end by name, in BACKEND_NAMES's order (backend-names.ts). */
export const backends: ReadonlyMap<string, Backend> = new Map(BACKEND_NAMES.map((n) => [n, LOADED[n as BackendName]]));

/** Looks a back end up by its --hv name; a UserError listing the valid names otherwise. */
export function getBackend(name: string): Backend {
  const b = backends.get(name);
  if (!b) throw unknownBackend(name);
  return b;
}

/** A back end given by its --hv name (looked up: a UserError for an unknown one) or as the object itself (one not registered: README "Adding a back end"). */
export function backendFrom(on: string | Backend): Backend {
  return typeof on === "object" ? on : getBackend(on);
}

const backendOf = (options: RunElfOptions): Backend => backendFrom(options.backend ?? "bare");

/** Rewrites `image` for a back end (`options.backend`, a name or object; default bare) and runs it: result, counters, console output. */
export function runElf(image: ElfImage, options: RunElfOptions = {}): RunElfOutcome {
  return runElfOn(backendOf(options), image, options);
}

/** prepareGuestOn with the back end of `options.backend` (a name or object; default bare). */
export function prepareGuest(image: ElfImage, options: RunElfOptions = {}): PreparedGuest {
  return prepareGuestOn(backendOf(options), image, options);
}
