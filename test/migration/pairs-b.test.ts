// Every ordered pair of bare, hvm, xen and l4, for the compute, mixed and
// faults workloads (pairs.ts; the other four: pairs-a.test.ts).
import { pairsSuite } from "./pairs.js";

pairsSuite(["compute", "mixed", "faults"]);
