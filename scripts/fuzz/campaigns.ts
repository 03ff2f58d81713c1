// The registry of fuzz campaigns, one per front door (docs/reliability.md).
// Loaded lazily, so a worker thread imports only the campaign it runs.

import type { Campaign } from "./campaign.js";

export const CAMPAIGNS: Readonly<Record<string, () => Promise<Campaign<any>>>> = {
  elf: async () => (await import("./elf.js")).elfCampaign,
  softlayer: async () => (await import("./softlayer.js")).softlayerCampaign,
  asm: async () => (await import("./asm.js")).asmCampaign,
  cc: async () => (await import("./cc.js")).ccCampaign,
  guests: async () => (await import("./guests.js")).guestsCampaign,
  smp: async () => (await import("./smp.js")).smpCampaign,
  domains: async () => (await import("./domains.js")).domainsCampaign,
  differential: async () => (await import("./differential.js")).differentialCampaign,
  snapshot: async () => (await import("./snapshot.js")).snapshotCampaign,
  migration: async () => (await import("./migration.js")).migrationCampaign,
  protection: async () => (await import("./protection.js")).protectionCampaign,
  nvdisk: async () => (await import("./nvdisk.js")).nvdiskCampaign,
  selftest: async () => (await import("./selftest.js")).selftestCampaign,
};

export const CAMPAIGN_NAMES = Object.keys(CAMPAIGNS);
/** What `npm run fuzz` runs without campaign names: every front door (not the fuzzer's self-test). */
export const DEFAULT_CAMPAIGNS = CAMPAIGN_NAMES.filter((n) => n !== "selftest");

const loaded = new Map<string, Campaign<any>>();

export async function loadCampaign(name: string): Promise<Campaign<any>> {
  let c = loaded.get(name);
  if (!c) {
    const load = CAMPAIGNS[name];
    if (!load) throw new Error(`unknown campaign '${name}' (valid: ${CAMPAIGN_NAMES.join(", ")})`);
    c = await load();
    loaded.set(name, c);
  }
  return c;
}
