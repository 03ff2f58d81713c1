# The l4 in-place VMM: the shared core (common/vmm-core.s). Under l4 the
# guest's page tables are plain guest memory the VMM reads when the task
# faults, so page-table sites stay native and the queue is unused; every
# `hcall` below is an IPC to the monitor's thread.
    .data
    .global VMM_FLAVOR
VMM_FLAVOR: .ascii "l4\0\0"
