// The back-end registry (`--hv NAME`). A Backend prepares the image before
// boot (the load-time rewriter of DESIGN.md §3 plugs in there) and may supply
// the Monitor the machine runs under. The machine itself knows no back end.
// Later issues add xen, l4, hvm and trap here.

import { UserError } from "../guest-isa/diagnostics.js";
import type { ElfImage } from "../guest-isa/elf-types.js";
import type { Monitor } from "../machine/monitor.js";
import { runImage, type RunImageOptions, type RunOutcome } from "../machine/run-image.js";
import { bare } from "./bare/index.js";

export interface Backend {
  readonly name: string;
  readonly description: string;
  /** Load-time step: returns the image to load (the rewriter patches sites here). */
  prepare(image: ElfImage): ElfImage;
  /** The monitor this back end runs the guest under; none on bare metal. */
  createMonitor?(): Monitor;
}

export const backends: ReadonlyMap<string, Backend> = new Map([[bare.name, bare]]);

/** Looks a back end up by its --hv name; a UserError listing the valid names otherwise. */
export function getBackend(name: string): Backend {
  const b = backends.get(name);
  if (!b) throw new UserError(`unknown back end '${name}' (valid: ${[...backends.keys()].join(", ")})`);
  return b;
}

export interface RunElfOptions extends Omit<RunImageOptions, "monitor"> {
  /** A back-end name or object; default "bare". */
  backend?: string | Backend;
}

/** Prepares `image` for a back end and runs it: result, counters, console output. */
export function runElf(image: ElfImage, options: RunElfOptions = {}): RunOutcome {
  const backend = typeof options.backend === "object" ? options.backend : getBackend(options.backend ?? "bare");
  const prepared = backend.prepare(image);
  return runImage(prepared, { ...options, monitor: backend.createMonitor?.() });
}
