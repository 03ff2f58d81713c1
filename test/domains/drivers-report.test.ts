// `previrt drivers`' table when a client does not complete
// (src/cli/drivers/restart-campaign.ts formatCampaign): it said "client
// completed 0/1" and "restart time median -1, max -1" with nothing on why.
// Now a run whose client did not complete gets a line with the seed, the
// crash, the client's ending and the driver's, and no restart reads "none".
// A hang with the watchdog off is never caught, so the client waits until
// --max-cycles. The bundled kernel on the real host.
import { describe, expect, it } from "vitest";
import { formatCampaign, runRestartCampaign } from "../../src/cli/drivers/restart-campaign.js";

describe("previrt drivers: a client that does not complete", () => {
  it("xen, a hang with the watchdog off: the table says why", () => {
    const r = runRestartCampaign({ runs: 1, firstSeed: 1, backend: "xen", kind: "hang", watchdog: 0, maxCycles: 5_000_000 });
    expect(r.runs[0]).toMatchObject({ completed: false, restarts: 0, clientEnding: "stopped after 5000000 cycles (--max-cycles 5000000)" });
    const text = formatCampaign(r);
    expect(text).toContain("  client completed          0/1\n");
    expect(text).toContain("  restart time (cycles)     none: no restarted driver accepted the client\n");
    expect(text).toMatch(/^ {2}seed 1 \(hang at cycle \d+\): the client: stopped after 5000000 cycles \(--max-cycles 5000000\); the driver: \(the crash did not bring the driver down\)$/m);
  });
});
