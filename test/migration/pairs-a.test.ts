// Every ordered pair of bare, hvm, xen and l4, for the syscall, ctxsw,
// pagetable and io workloads (pairs.ts; the other three: pairs-b.test.ts).
import { pairsSuite } from "./pairs.js";

pairsSuite(["syscall", "ctxsw", "pagetable", "io"]);
