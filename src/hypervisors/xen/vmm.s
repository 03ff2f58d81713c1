# The xen in-place VMM: the shared core (common/vmm-core.s) is all it needs —
# page-table writes are queued there (PTE_PUSH) and applied with one
# mmu_update hypercall (FLUSH). This file names the back end for the image.
    .data
    .global VMM_FLAVOR
VMM_FLAVOR: .ascii "xen\0"
