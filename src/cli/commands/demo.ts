// `previrt demo`: not built yet (issue #8).
import { UserError } from "../../guest-isa/diagnostics.js";
import type { CommandRunner } from "../main.js";

export const run: CommandRunner = () => {
  throw new UserError("'demo' is not available yet");
};
