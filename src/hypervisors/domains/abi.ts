// The guest-visible constants of the multi-guest host (docs/driver-vms.md,
// "Domain device and hypercall ABI"): the domain device's ports, the device
// kinds DEV_LOOKUP/PUBLISH/ACCEPT/STATUS name, and the limits of the grant
// table and the event channels. The op numbers are the hypercall numbers
// (common/hypercalls.ts HC.GNT_GRANT … HC.DEV_STATUS).

import { HC } from "../common/hypercalls.js";
import { ownValue } from "../../guest-isa/own-value.js";

/** The domain device's ports (only under the multi-guest host; elsewhere open bus). */
export const DOM_PORT = {
  ID: 0x60,
  ARG0: 0x61,
  ARG1: 0x62,
  ARG2: 0x63,
  OP: 0x64,
  EVENTS: 0x65,
  FEATURES: 0x66,
} as const;

/**
 * DOM_FEATURES bits (read-only). EDGE_EVENTS: the event line is lowered when
 * the hypervisor delivers it (the upcall, as Xen's evtchn_upcall_pending),
 * so a guest need not acknowledge an event port only to re-arm the line;
 * the control port (0) keeps the line asserted until acknowledged. Set
 * under xen and l4; under hvm the line is level (asserted while any port is
 * pending) and the guest acknowledges.
 */
export const DOM_FEATURE = { EDGE_EVENTS: 1 } as const;

/** Device kinds a domain can serve to others. */
export const DEVICE_KIND = { block: 1, nvdisk: 2 } as const;
export type DeviceKindName = keyof typeof DEVICE_KIND;
/** Whether a name from a configuration is a device kind (own keys: `"constructor" in DEVICE_KIND` is true). */
export const isDeviceKind = (name: string): name is DeviceKindName => ownValue(DEVICE_KIND, name) !== undefined;

/** Event ports per domain: 0 is the host's control port, 1..31 are allocated by EVT_ALLOC/EVT_BIND. */
export const EVENT_PORTS = 32;
/** The control port: raised by the host only (a client published; the server was restarted). */
export const CONTROL_PORT = 0;
/** Live grants a domain may hold (GNT_GRANT beyond: EAGAIN). */
export const MAX_GRANTS = 1024;
export const PAGE_SIZE = 4096;

/** First and last op of the inter-domain services. */
export const FIRST_DOMAIN_OP = HC.GNT_GRANT;
export const LAST_DOMAIN_OP = HC.DEV_STATUS;
