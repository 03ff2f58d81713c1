// `previrt as`: not built yet (issue #2).
import { UserError } from "../../guest-isa/diagnostics.js";
import type { CommandRunner } from "../main.js";

export const run: CommandRunner = () => {
  throw new UserError("'as' is not available yet");
};
