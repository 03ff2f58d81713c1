// The playground's samples: the README's hello, the virtualization-hole
// guest (psr-hole), a guest that builds page tables (pv-kernel.ts, the
// TypeScript dialect), and the bundled kernel's workloads (fixtures/kernel,
// built by the kernel recipe from bundled sources; the editor holds its
// kernel.ts). The texts are the repository's fixtures, bundled as strings.

import { FIXTURES } from "previrt-web:fixtures";
import { WORKLOADS } from "../cli/workloads.js";

export interface Sample {
  name: string;
  title: string;
  /** The file the editor holds (its name is what diagnostics and the site table say). */
  file: string;
  /** Set for the bundled kernel: the workload it starts. */
  workload?: string;
  note: string;
}


export const SAMPLES: readonly Sample[] = [
  { name: "hello", title: "hello (assembly)", file: "fixtures/guests/hello.s", note: "prints a string and powers off" },
  { name: "psr-hole", title: "psr-hole: the virtualization hole", file: "fixtures/guests/psr-hole.s", note: "rdpsr/wrpsr do not trap: trap-and-emulate diverges" },
  { name: "page-tables", title: "page tables (TypeScript)", file: "fixtures/guests/pv-kernel.ts", note: "builds page tables, maps an alias, takes timer interrupts" },
  ...WORKLOADS.map((w) => ({
    name: `kernel-${w}`,
    title: `bundled kernel: ${w}`,
    file: "fixtures/kernel/kernel.ts",
    workload: w,
    note: `the bundled kernel (fixtures/kernel) running its ${w} workload; kernel.ts is editable, the rest is bundled`,
  })),
];

export function sampleText(s: Sample): string {
  return FIXTURES[s.file] ?? "";
}

export function findSample(name: string | null): Sample | undefined {
  return SAMPLES.find((s) => s.name === name);
}
