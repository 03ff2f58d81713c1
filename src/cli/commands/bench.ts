// `previrt bench`: not built yet (issue #9).
import { UserError } from "../../guest-isa/diagnostics.js";
import type { CommandRunner } from "../main.js";

export const run: CommandRunner = () => {
  throw new UserError("'bench' is not available yet");
};
