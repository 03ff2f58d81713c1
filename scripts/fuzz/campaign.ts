// What a fuzz campaign is, and how an outcome is classified. Shared by the
// campaigns (scripts/fuzz/<name>.ts), the worker thread that runs them
// (worker.ts) and the driver (runner.ts).
//
// A campaign draws inputs from a seeded generator (one independent stream per
// input index, so any input can be regenerated alone), executes each against
// one front door and says what happened. An input is a list of units (edits
// of a fixture, lines, instruction words) that the shrinker can drop.

import { DiagnosticError, UserError } from "../../src/guest-isa/diagnostics.js";
import type { Rng } from "./generators/rng.js";

export const OUTCOMES = ["accepted", "refused", "host-exception", "hang", "wrong"] as const;
export type OutcomeClass = (typeof OUTCOMES)[number];
/** The classes that make `npm run fuzz` fail. */
export const FAILURES: ReadonlySet<OutcomeClass> = new Set(["host-exception", "hang", "wrong"]);

export interface FuzzInput<U = unknown> {
  /** The fixture or generator the input comes from (also names the file it is written to). */
  base: string;
  /** What the shrinker may drop: any subset of the units is still an input. */
  units: U[];
  /** A number the campaign keeps with the input (a back end choice, a program length). */
  aux: number;
}

export interface Outcome {
  class: OutcomeClass;
  /** One line: the refusal's message, the exception, what differed. */
  message: string;
  /** For host exceptions: the first frames of the stack. */
  stack?: string;
}

export interface Limits {
  /** --max-cycles: the bound of every guest run. */
  maxCycles: number;
}

export interface Materialized {
  /** File extension of the written input (".elf", ".s", ".ts", ".json"). */
  ext: string;
  data: Uint8Array | string;
  /** A note written next to it (how to reproduce by hand). */
  note?: string;
}

export interface Campaign<U = unknown> {
  readonly name: string;
  /** One line for the summary and docs/reliability.md. */
  readonly description: string;
  /** Draws one input. */
  generate(r: Rng, index: number): FuzzInput<U>;
  /**
   * Runs one input through the front door. Returns the outcome when the door
   * answered (accepted, or a detected wrong result); whatever it throws is
   * classified by `classifyError`.
   */
  execute(input: FuzzInput<U>, limits: Limits): Outcome | "accepted";
  /** The input as the file a person reproduces the failure with. */
  materialize(input: FuzzInput<U>): Materialized;
}

const oneLine = (s: string) => !s.includes("\n");
const INTERNAL = /internal error|Maximum call stack|out of memory|Invalid typed array|Invalid array length|outside the bounds/i;

/**
 * A thrown error → its class: a UserError with a one-line message, or a
 * DiagnosticError whose every diagnostic is one line, is a clean refusal;
 * anything else (TypeError, RangeError, an "internal error", a multi-line
 * message) is a host exception.
 */
export function classifyError(e: unknown): Outcome {
  if (e instanceof UserError && oneLine(e.message) && e.message.length > 0 && !INTERNAL.test(e.message)) return { class: "refused", message: e.message };
  if (e instanceof DiagnosticError && e.diagnostics.length > 0 && e.diagnostics.every((d) => oneLine(d.message) && d.message.length > 0 && !INTERNAL.test(d.message))) {
    return { class: "refused", message: e.message.split("\n")[0] };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  const stack = (err.stack ?? "").split("\n").slice(1, 7).map((l) => l.trim()).join("\n");
  return { class: "host-exception", message: `${err.name}: ${err.message.split("\n")[0].slice(0, 300)}`, stack };
}

/** Runs one input and classifies the outcome (the worker's and the shrinker's only way to execute). */
export function runInput<U>(campaign: Campaign<U>, input: FuzzInput<U>, limits: Limits): Outcome {
  try {
    const r = campaign.execute(input, limits);
    return r === "accepted" ? { class: "accepted", message: "" } : r;
  } catch (e) {
    return classifyError(e);
  }
}

/**
 * What makes two failures the same bug, for deduplication and for the
 * shrinker (a smaller input must fail the same way): the class and the
 * message with numbers, names in quotes and addresses blurred.
 */
export function signature(o: Outcome): string {
  const frame = o.stack?.split("\n").find((l) => /\/(src|scripts)\//.test(l))?.replace(/^at\s+/, "").replace(/\(?file:\/\/\S*\/(src|scripts)\//, "$1/").replace(/:\d+\)?$/, "") ?? "";
  const msg = o.message
    .replace(/'[^']*'|"[^"]*"|`[^`]*`/g, "Q")
    .replace(/0x[0-9a-f]+/gi, "N")
    .replace(/\d+/g, "N")
    .slice(0, 90);
  return `${o.class}|${msg}|${frame}`;
}
