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
import { unknownBackend } from "./registry.js";

export {
  checkCpuOptions,
  checkCpuValues,
  prepareGuestOn,
  prepareImage,
  runElfOn,
  spinSites,
  type Backend,
  type CpuOptions,
  type MonitorOptions,
  type PreparedGuest,
  type RunElfOptions,
  type RunElfOutcome,
} from "./backend.js";
export { BACKEND_NAMES, loadBackend } from "./registry.js";

/** Every back end by name, in registry.ts's order (BACKEND_NAMES). */
export const backends: ReadonlyMap<string, Backend> = new Map([bare, hvm, trap, xen, l4].map((b) => [b.name, b]));

/** Looks a back end up by its --hv name; a UserError listing the valid names otherwise. */
export function getBackend(name: string): Backend {
  const b = backends.get(name);
  if (!b) throw unknownBackend(name);
  return b;
}

const backendOf = (options: RunElfOptions): Backend => (typeof options.backend === "object" ? options.backend : getBackend(options.backend ?? "bare"));

/** Rewrites `image` for a back end (`options.backend`, a name or object; default bare) and runs it: result, counters, console output. */
export function runElf(image: ElfImage, options: RunElfOptions = {}): RunElfOutcome {
  return runElfOn(backendOf(options), image, options);
}

/** prepareGuestOn with the back end of `options.backend` (a name or object; default bare). */
export function prepareGuest(image: ElfImage, options: RunElfOptions = {}): PreparedGuest {
  return prepareGuestOn(backendOf(options), image, options);
}
