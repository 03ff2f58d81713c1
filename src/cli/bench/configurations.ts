// The configurations `previrt bench` compares (the evaluation of LeVasseur et
// al., "Pre-virtualization: soft layering for virtual machines": native,
// para-virtualized and pre-virtualized kernels on Xen and L4), as data. Each
// is a back end plus which build of the kernel it runs.

/** Which build of a workload's kernel a configuration runs. */
export type KernelBinary = "plain" | "annotated" | "paravirt-xen";

export interface BenchConfiguration {
  /** Stable identifier (JSON, --hv filter). */
  readonly id: string;
  readonly label: string;
  readonly backend: string;
  readonly binary: KernelBinary;
}

export const CONFIGURATIONS: readonly BenchConfiguration[] = [
  { id: "bare-plain", label: "bare, plain binary", backend: "bare", binary: "plain" },
  { id: "bare-annotated", label: "bare, annotated binary", backend: "bare", binary: "annotated" },
  { id: "xen-pre", label: "xen, pre-virtualized", backend: "xen", binary: "annotated" },
  { id: "xen-para", label: "xen, para-virtualized", backend: "xen", binary: "paravirt-xen" },
  { id: "l4-pre", label: "l4, pre-virtualized", backend: "l4", binary: "annotated" },
  { id: "hvm", label: "hvm (same annotated binary)", backend: "hvm", binary: "annotated" },
  { id: "trap", label: "trap (same annotated binary)", backend: "trap", binary: "annotated" },
];

/** The configuration every overhead is measured against. */
export const BASELINE = "bare-plain";
