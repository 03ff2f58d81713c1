// The fuzz smoke's second half (test/fuzz/smoke-run.ts says why two files):
// the campaigns whose inputs are whole guests run on the back ends, across
// engines and moves — differential, domains, smp, snapshot and migration —
// with seed 1 and a fixed number of inputs, through `npm run fuzz`'s
// command. Every front door must hold: 0 host exceptions, 0 hangs, 0 wrong
// results. test/fuzz/smoke.test.ts has the others, the fuzzer's own check
// and the check that these inputs include runs compared across engines.

import { smokeCampaigns } from "./smoke-run.js";

smokeCampaigns(["differential", "domains", "smp", "snapshot", "migration"]);
