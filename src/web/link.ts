// What a playground link holds (docs/playground.md, "Keyboard and links"):
// the sample, the edited text, the run options. Read the same way by the
// page (main.ts) and by the worker (worker.ts), which index.html hands the
// link as it starts it, so a link's program is built — and with `run=1` run —
// while the page's own script is still loading. Consumes a query string and
// a fragment; produces the program and options the page will ask for.
//
// The edited text goes in the fragment (`#code=…`), not the query: a browser
// never sends the fragment to a server, and an edited kernel.ts (about 52 KB
// of base64url) is past what servers take in a request (`previrt playground`
// on Node's HTTP server answers 431 past 16 KB of headers), so the page's
// own URL, which follows every edit, could not be reloaded. An older link's
// `?code=` is still read.

import { BACKEND_NAMES } from "../hypervisors/backend-names.js";
import type { Program, RunOptions } from "./protocol.js";
import { findSample, SAMPLES, sampleText, type Sample } from "./samples.js";

/** The matrix's back ends, bare (the reference) first: every registered one (src/hypervisors/backend-names.ts). */
export const BACKENDS: readonly string[] = BACKEND_NAMES;
export const CPU_CHOICES = [1, 2, 4];

/** base64url of the text's UTF-8 (the `#code=` fragment). */
export function encodeText(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeText(s: string): string {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/**
 * The options from the URL: cpus one of 1, 2, 4; pcpus fewer than cpus (else
 * one per CPU); protect=0 turns protection off; max-cycles a positive whole
 * number in decimal digits, as the CLI's --max-cycles reads it (else the
 * page's limit).
 */
export function runOptionsFrom(params: URLSearchParams): RunOptions {
  const cpus = CPU_CHOICES.includes(Number(params.get("cpus"))) ? Number(params.get("cpus")) : 1;
  const pcpus = Number(params.get("pcpus"));
  const limit = params.get("max-cycles") ?? "";
  const maxCycles = /^[0-9]+$/.test(limit) && Number.isSafeInteger(Number(limit)) && Number(limit) > 0 ? Number(limit) : undefined;
  return { cpus, pcpus: CPU_CHOICES.includes(pcpus) && pcpus < cpus ? pcpus : undefined, protect: params.get("protect") !== "0", ...(maxCycles !== undefined ? { maxCycles } : {}) };
}

/** What the worker builds for a sample's editor text: the guest file, or the bundled kernel with that kernel.ts. */
export function programOf(sample: Sample, text: string): Program {
  return sample.workload ? { kind: "kernel", workload: sample.workload, text } : { kind: "guest", file: sample.file, text };
}

export interface LinkStart {
  sample: Sample;
  /** The program's text: the link's `#code=` (or an older link's `?code=`), or the sample's. */
  text: string;
  /** `code=` was there but could not be decoded: the sample's text is shown instead. */
  damaged: boolean;
  /** `run=1`: the matrix runs on load (`tab=migrate&run=1` migrates instead). */
  runMatrix: boolean;
  migrate: boolean;
  options: RunOptions;
}

/** `location.search` and `location.hash` (the fragment holds the edited text). */
export function linkStart(search: string, hash = ""): LinkStart {
  const params = new URLSearchParams(search);
  const sample = findSample(params.get("sample")) ?? SAMPLES[0];
  let text = sampleText(sample);
  let damaged = false;
  const code = new URLSearchParams(hash.replace(/^#/, "")).get("code") ?? params.get("code");
  if (code !== null) {
    try {
      text = decodeText(code);
    } catch {
      damaged = true;
    }
  }
  const migrate = params.get("tab") === "migrate" && params.get("run") === "1";
  return { sample, text, damaged, runMatrix: params.get("run") === "1" && !migrate, migrate, options: runOptionsFrom(params) };
}
