// `previrt objdump`: not built yet (issue #2).
import { UserError } from "../../guest-isa/diagnostics.js";
import type { CommandRunner } from "../main.js";

export const run: CommandRunner = () => {
  throw new UserError("'objdump' is not available yet");
};
