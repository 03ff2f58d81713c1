// The hypervisors that accept para-virtualized guests, and the guest ABI each
// hands the compiler (`--paravirt NAME`). Only xen has one.

import { UserError } from "../guest-isa/diagnostics.js";
import type { ParavirtTarget } from "../guest-isa/paravirt.js";
import { xenGuestDefines } from "./xen/abi.js";

export { isParavirtImage, PARAVIRT_MARKER } from "../guest-isa/paravirt.js";

const TARGETS: Readonly<Record<string, () => Readonly<Record<string, number>>>> = { xen: xenGuestDefines };

/** The para-virtualization target for `--paravirt NAME`; a UserError for a hypervisor without one. */
export function paravirtTarget(name: string): ParavirtTarget {
  const abi = TARGETS[name];
  if (!abi) throw new UserError(`--paravirt: unknown hypervisor '${name}' (supported: ${Object.keys(TARGETS).join(", ")})`);
  return { hypervisor: name, abi: abi() };
}
