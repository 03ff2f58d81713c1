// The back-end registry (`--hv NAME`). A Backend is data for the load-time
// rewriter (what each site kind becomes, docs/design.md §3) plus, where the guest
// runs under a hypervisor, the Monitor the machine calls on its slow paths.
// The machine itself knows no back end.

import { UserError } from "../guest-isa/diagnostics.js";
import type { ElfImage } from "../guest-isa/elf-types.js";
import type { Monitor } from "../machine/monitor.js";
import { runImage, type RunImageOptions, type RunOutcome } from "../machine/run-image.js";
import { rewriteImage, type RewriteResult, type RewriteTarget } from "../rewriter/index.js";
import { bare } from "./bare/index.js";
import { hvm } from "./hvm/index.js";
import { l4 } from "./l4/index.js";
import { isParavirtImage } from "./paravirt.js";
import { trap } from "./trap/index.js";
import { xen } from "./xen/index.js";

/** What a back end's monitor is built for (the guest's CPUs; `--pcpus`, `--timeslice`: common/vcpu-scheduler.ts). */
export interface MonitorOptions {
  cpus?: number;
  /** Physical CPUs the hypervisor time-slices the vCPUs on (fewer than the vCPUs; default: one per vCPU). */
  pcpus?: number;
  /** The scheduler's time slice in cycles (a multiple of the machine's quantum). */
  timeslice?: number;
}

export interface Backend {
  readonly name: string;
  readonly description: string;
  /** The rewriter's view of this back end: its replacement table (and soft-layer window). */
  readonly target: RewriteTarget;
  /** The monitor this back end runs the guest under, given what the rewriter did; none on bare metal. */
  createMonitor?(rewrite: RewriteResult, options?: MonitorOptions): Monitor;
}

export const backends: ReadonlyMap<string, Backend> = new Map([bare, hvm, trap, xen, l4].map((b) => [b.name, b]));

/** Looks a back end up by its --hv name; a UserError listing the valid names otherwise. */
export function getBackend(name: string): Backend {
  const b = backends.get(name);
  if (!b) throw new UserError(`unknown back end '${name}' (valid: ${[...backends.keys()].join(", ")})`);
  return b;
}

/**
 * The load-time step: validates the site table and rewrites every site for
 * the back end. A para-virtualized image runs on xen only: elsewhere it is
 * refused (a UserError the CLI prefixes with the file name).
 */
export function prepareImage(backend: Backend, image: ElfImage, file?: string): RewriteResult {
  if (backend.name !== "xen" && isParavirtImage(image)) throw new UserError(`${file ? `${file}: ` : ""}para-virtualized for xen; run it with --hv xen`);
  return rewriteImage(image, backend.target);
}

export interface RunElfOptions extends Omit<RunImageOptions, "monitor"> {
  /** A back-end name or object; default "bare". */
  backend?: string | Backend;
  /** The ELF file's name, for error messages about the binary. */
  file?: string;
}

export interface RunElfOutcome extends RunOutcome {
  /** What the load-time rewriter did (sites by strategy). */
  rewrite: RewriteResult;
}

/** Rewrites `image` for a back end and runs it: result, counters, console output. */
export function runElf(image: ElfImage, options: RunElfOptions = {}): RunElfOutcome {
  const backend = typeof options.backend === "object" ? options.backend : getBackend(options.backend ?? "bare");
  const rewrite = prepareImage(backend, image, options.file);
  const outcome = runImage(rewrite.image, { ...options, monitor: backend.createMonitor?.(rewrite) });
  return { ...outcome, rewrite };
}
