// `previrt cc`: not built yet (issue #4).
import { UserError } from "../../guest-isa/diagnostics.js";
import type { CommandRunner } from "../main.js";

export const run: CommandRunner = () => {
  throw new UserError("'cc' is not available yet");
};
