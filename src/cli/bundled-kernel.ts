// The bundled guest kernel (fixtures/kernel, docs/kernel.md), built from the
// package's source files: the one recipe (kernel-recipe.ts) the demo, the
// tests and the benchmark use, with its sources read from disk. The
// playground runs the same recipe on sources bundled as strings.
//
// buildKernel({ workload }) → ElfImage. By hand: `previrt kernel -o k.elf
// --workload mixed` (src/cli/commands/kernel.ts), or the steps in docs/kernel.md.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AsmSource } from "../compiler/startup.js";
import { UserError } from "../guest-isa/diagnostics.js";
import type { ElfImage } from "../guest-isa/elf-types.js";
import {
  adoptCompiledKernelFrom, adoptUserProgramsFrom, buildKernelFrom, buildUserProgramFrom, compileKernelFrom, userProgramsSourceFrom, type CompiledKernel, type KernelBuild, type KernelBuildOptions, type USER_PROGRAMS,
} from "./kernel-recipe.js";
import { packageRoot } from "./package-info.js";

export {
  DEFAULT_TIMER_PERIOD, MAX_KERNEL_CPUS, USER_BASE, USER_PROGRAMS, WORKLOADS, embedPrograms, flattenImage, kernelDisk, kernelDiskBytes,
  type CompiledKernel, type KernelBuild, type KernelBuildOptions, type Workload,
} from "./kernel-recipe.js";

/** The package's fixtures/kernel files. */
const fileSources = (path: string): string => {
  const root = packageRoot();
  if (!root) throw new UserError("cannot find previrt's package folder (which holds fixtures/kernel, the bundled kernel's sources)");
  return readFileSync(join(root, "fixtures", "kernel", path), "utf8");
};

/** Compiles and links one user program at USER_BASE, without annotation. */
export function buildUserProgram(name: (typeof USER_PROGRAMS)[number]): ElfImage {
  return buildUserProgramFrom(fileSources, name);
}

/** The generated assembly embedding every user program (built once per process). */
export function userProgramsSource(): AsmSource {
  return userProgramsSourceFrom(fileSources);
}

/** Builds the bundled kernel for one workload: user programs embedded, kernel annotated by default. */
export function buildKernel(options: KernelBuildOptions = {}): KernelBuild {
  return buildKernelFrom(fileSources, options);
}

/** Compiles the kernel ahead of builds with this para-virtualization (kernel-recipe.ts compileKernelFrom). */
export function compileKernel(options: Pick<KernelBuildOptions, "paravirt"> = {}): CompiledKernel {
  return compileKernelFrom(fileSources, options);
}

/** Takes compileKernel()'s result from another thread of this process as this one's, if compiled from the same inputs (kernel-recipe.ts adoptCompiledKernelFrom). */
export function adoptCompiledKernel(kernel: CompiledKernel, options: Pick<KernelBuildOptions, "paravirt"> = {}): boolean {
  return adoptCompiledKernelFrom(fileSources, kernel, options);
}

/** Takes userProgramsSource()'s text from another thread of this process as this one's (kernel-recipe.ts adoptUserProgramsFrom). */
export function adoptUserPrograms(text: string): void {
  adoptUserProgramsFrom(fileSources, text);
}
