// G32 assembly: the xen in-place VMM's own part, as a module exporting its text so the
// package (and any bundle) carries it and nothing reads it from disk at run
// time. common/window.ts assembles it. The text below is the one source:
// edit the assembly in place (String.raw: backslashes stay as written).
export const XEN_VMM_SOURCE = String.raw`# The xen in-place VMM: the shared core (common/vmm-core.s.ts) is all it needs —
# page-table writes run in place (writable page tables, xen-monitor.ts).
# This file names the back end for the image.
    .data
    .global VMM_FLAVOR
VMM_FLAVOR: .ascii "xen\0"
`;
