// The bundled kernel's workloads, in a module of their own with no imports,
// so the playground's page (src/web/samples.ts) lists them without pulling
// the toolchain into its bundle. kernel-recipe.ts re-exports them.

/** Workloads, by their -D WORKLOAD number (fixtures/kernel/kernel.ts startWorkload). */
export const WORKLOADS = ["syscall", "ctxsw", "pagetable", "io", "compute", "mixed", "faults", "smp", "spinlock", "blkback"] as const;
export type Workload = (typeof WORKLOADS)[number];
