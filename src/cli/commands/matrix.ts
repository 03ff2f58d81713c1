// `previrt matrix`: not built yet (issue #8).
import { UserError } from "../../guest-isa/diagnostics.js";
import type { CommandRunner } from "../main.js";

export const run: CommandRunner = () => {
  throw new UserError("'matrix' is not available yet");
};
