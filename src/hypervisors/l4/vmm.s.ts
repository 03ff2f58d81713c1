// G32 assembly: the l4 in-place VMM's own part, as a module exporting its text so the
// package (and any bundle) carries it and nothing reads it from disk at run
// time. common/window.ts assembles it. The text below is the one source:
// edit the assembly in place (String.raw: backslashes stay as written).
export const L4_VMM_SOURCE = String.raw`# The l4 in-place VMM: the shared core (common/vmm-core.s.ts). Under l4 the
# guest's page tables are plain guest memory the VMM reads when the task
# faults, so page-table sites stay native and the queue is unused; every
# 'hcall' below is an IPC to the monitor's thread.
    .data
    .global VMM_FLAVOR
VMM_FLAVOR: .ascii "l4\0\0"
`;
