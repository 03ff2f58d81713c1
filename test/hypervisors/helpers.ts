// Shared by the back-end tests: fixtures built once into ELF bytes, and a
// run of those bytes on a back end reduced to what must agree everywhere.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { annotate } from "../../src/annotator/index.js";
import { buildSources } from "../../src/cli/build-pipeline.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import { runElf, type RunElfOutcome } from "../../src/hypervisors/index.js";
import { released } from "../recycle.js";

export const ROOT = new URL("../../", import.meta.url);
export const ISA_TESTS = readdirSync(new URL("fixtures/isa-tests/", ROOT)).filter((f) => f.endsWith(".s")).sort();
export const PROGRAMS = readdirSync(new URL("fixtures/programs/", ROOT)).filter((f) => f.endsWith(".ts")).sort();

export const header = (text: string, key: string) => new RegExp(`^# ${key}: ?(.*)$`, "m").exec(text)?.[1];
export const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

export interface Built {
  bytes: Uint8Array;
  input: string;
  sectors: number;
}

/** An assembly fixture annotated and assembled once: the ELF file's bytes. */
export function buildAsm(rel: string, options: { annotate?: boolean } = {}): Built {
  const text = readFileSync(new URL(rel, ROOT), "utf8");
  const src = options.annotate === false ? text : annotate(rel, text).text;
  const bytes = writeElf(assemble([{ file: rel, text: src }]));
  return { bytes, input: header(text, "input") ?? "", sectors: Number(header(text, "disk-sectors") ?? 0) };
}

/** A TS program (plus the guest files it imports) built by `previrt build`'s pipeline. */
export function buildTs(rels: string[], options: { paravirt?: string } = {}): Built {
  const sources = rels.map((rel) => ({ file: rel, text: readFileSync(new URL(rel, ROOT), "utf8") }));
  return { bytes: writeElf(buildSources(sources, options).image), input: "", sectors: 0 };
}

/** Runs `built` on `backend`; its machine's RAM is recycled (test/recycle.ts): the outcome has no machine. */
export function runBytes(built: Built, backend: string, maxCycles = 50_000_000, protect = true): Omit<RunElfOutcome, "machine"> & { verdict: string } {
  const out = released(runElf(readElf(built.bytes), {
    backend,
    maxCycles,
    protect,
    stdin: built.input,
    disk: built.sectors ? new Uint8Array(built.sectors * 512) : undefined,
  }));
  const r = out.result;
  return { ...out, verdict: r.kind === "poweroff" ? `exit ${r.exitCode}` : `${r.reason}: ${r.message}` };
}
