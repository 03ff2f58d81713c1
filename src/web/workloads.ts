// The bundled kernel's workloads as the playground's samples list them: a
// copy of src/cli/kernel-recipe.ts WORKLOADS kept out of the page's bundle
// (importing the recipe would pull the toolchain into app.js, which only the
// worker needs); test/web/core-bundle.test.ts checks the two are equal.
export const KERNEL_WORKLOADS = ["syscall", "ctxsw", "pagetable", "io", "compute", "mixed", "faults"] as const;
