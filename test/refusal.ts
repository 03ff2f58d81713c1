// The message a front door refuses with, for tests of bad input: a UserError
// of one line (the project's rule for every refusal). Shared by the migration
// tests (snapshots refused before anything runs) and others.
import { expect } from "vitest";
import { UserError } from "../src/guest-isa/diagnostics.js";

/** The message `f` refuses with: a UserError of one line; fails if `f` accepts. */
export function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    expect((e as Error).message).not.toContain("\n");
    return (e as Error).message;
  }
  throw new Error("accepted");
}
