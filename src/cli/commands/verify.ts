// `previrt verify`: not built yet (issue #5).
import { UserError } from "../../guest-isa/diagnostics.js";
import type { CommandRunner } from "../main.js";

export const run: CommandRunner = () => {
  throw new UserError("'verify' is not available yet");
};
