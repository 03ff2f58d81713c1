// The memory supervisor's guest interface (Mondrix, Witchel et al., SOSP
// 2005): how a guest kernel declares protection domains over its own code
// and data. A device on the port bus, so it is privileged like every port
// (`in`/`out` fault in user mode) and reachable from assembly (`out`) and
// from the TS dialect (`outPort`/`inPort`); docs/protection.md.
//
//   out 0x50..0x53  ARG0..ARG3
//   out 0x54, op    the call: DEFINE (1) or GRANT (2); `in 0x54` reads its result
//
//   DEFINE  ARG0 = first code byte, ARG1 = one past the last (virtual pc range)
//           → the new domain's id (> 0; the guest's: it names the domain
//           after a snapshot or a move too, Protection.guestDomain)
//   GRANT   ARG0 = domain, ARG1 = virtual address, ARG2 = bytes, ARG3 = permission
//           (0 none, 1 read, 2 write, 3 read-write), word-aligned
//           → 0
//   errors  (negative) SUPERVISOR_ERROR
//
// Consumes the machine's protection unit, the pc of the `out` that made the
// call (the guest's own instruction, also when a monitor emulates it: a
// trapped `out`, or one at a rewritten site, whose caller is the guest
// domain around the site — Protection.callerDomain) and the guest's current
// translation (virtual ranges are translated page by page when the call is
// made, through the guest's own paging registers — also under a shadow
// pager, hvm and trap, whose real ones are the monitor's; permissions are
// physical, protection.ts says why). Produces domains
// and grants, or a refusal:
// a call from code outside domain 0 (a module may not change the tables), a
// range outside guest memory or unmapped, a domain the monitor owns (the
// in-place VMM's), an overlapping code range, a grant that could take the
// tables past their bound (MAX_LEAVES_PER_FRAME). The arguments and the result
// are domain 0's too: another domain reads −1 and cannot write them. With protection off
// (`enabled` false: `previrt inject --no-protect`, `run --no-protect`) every
// call succeeds and does nothing, so a kernel runs unchanged either way.

import type { Device } from "../bus/ports.js";
import { KERNEL_DOMAIN, ProtectionError, type Perm, type Protection } from "./protection.js";

export const SUPERVISOR_PORT = { ARG0: 0x50, ARG1: 0x51, ARG2: 0x52, ARG3: 0x53, CALL: 0x54 } as const;
export const SUPERVISOR_CALL = { DEFINE: 1, GRANT: 2 } as const;
export const SUPERVISOR_ERROR = {
  /** The call came from code outside domain 0. */
  WRONG_DOMAIN: -1,
  /** Unknown call, bad permission, unaligned or empty range. */
  BAD_REQUEST: -2,
  /** The range is unmapped or outside the guest's memory. */
  OUTSIDE_MEMORY: -3,
  /** The domain does not exist or belongs to the monitor. */
  NOT_YOURS: -4,
  /** The code range overlaps another domain's. */
  OVERLAP: -5,
  /** The permission tables hold their most mixed frames already (MAX_LEAVES_PER_FRAME). */
  TABLES_FULL: -6,
} as const;

/**
 * Mixed frames (a 256-byte leaf each, table.ts) the guest's grants may keep
 * in all domains together, per frame of guest memory: 1/16 of guest memory
 * (the top levels add 4 bytes per frame per domain that has a table; a
 * legitimate kernel needs far fewer: the Mondrix variant keeps one leaf,
 * docs/protection.md "Goals"). The tables are host memory: without
 * a bound a guest defining 63 domains and a leaf in every frame of each made
 * the host hold 4× its RAM in leaves (172 MB for 64 MiB in a few seconds of
 * GRANTs; 2 GiB of RAM would have cost the host its memory).
 */
export const MAX_LEAVES_PER_FRAME = 1;

export interface SupervisorHost {
  readonly protection: Protection;
  /** The pc of the guest's `in`/`out` being executed (or emulated by a monitor). */
  readonly ioPc: number;
  /** First physical byte the guest cannot address. */
  readonly guestLimit: number;
  /**
   * The guest's current translation (supervisor, load; its own page tables, Mmu.probeGuest): of `va`, or
   * undefined where it has none. Its paging registers are read once, when it is made (one call translates
   * up to 2^19 pages).
   */
  translator(): (va: number) => number | undefined;
}

export class SupervisorDevice implements Device {
  readonly name = "memory-supervisor";
  /** No events of its own (ports.ts Device.eventless). */
  readonly eventless = true;
  readonly ports = Object.values(SUPERVISOR_PORT);
  private readonly args = new Int32Array(4);
  private status = 0;
  /** Whether calls take effect (protection on). */
  enabled = true;

  constructor(private readonly host: SupervisorHost) {}

  /**
   * ARG0..ARG3 and the result are domain 0's: another domain reads −1
   * (WRONG_DOMAIN, what its own call gets) and its ARG writes are ignored —
   * else a module could read the kernel's pending arguments, or rewrite them
   * between the kernel's `out`s (another CPU, or the kernel calling it
   * there) and have the supervisor act on them for the kernel.
   */
  read(port: number): number {
    if (!this.fromKernel()) return SUPERVISOR_ERROR.WRONG_DOMAIN;
    return port === SUPERVISOR_PORT.CALL ? this.status : this.args[port - SUPERVISOR_PORT.ARG0];
  }

  write(port: number, value: number): void {
    // Another domain's writes change nothing: not the arguments, and not the result domain 0 reads next
    // (its own call is refused: it reads −1).
    if (!this.fromKernel()) return;
    if (port !== SUPERVISOR_PORT.CALL) this.args[port - SUPERVISOR_PORT.ARG0] = value;
    else this.status = this.call(value);
  }

  /** Whether the `in`/`out` being performed is domain 0's (Protection.callerDomain of its pc); with protection off, every caller's. */
  private fromKernel(): boolean {
    return !this.enabled || this.host.protection.callerDomain(this.host.ioPc) === KERNEL_DOMAIN;
  }

  /** ARG0..ARG3 and the last call's result: a guest stopped between its `out`s continues its call (absent when all are 0). */
  saveState(): Int32Array | undefined {
    return this.args.some((a) => a !== 0) || this.status !== 0 ? Int32Array.of(...this.args, this.status) : undefined;
  }

  restoreState(s: Int32Array | undefined): void {
    this.args.set(s ? s.subarray(0, 4) : [0, 0, 0, 0]);
    this.status = s ? s[4] : 0;
  }

  nextEvent(): number {
    return Infinity;
  }
  onEvent(): void {}

  private call(op: number): number {
    const p = this.host.protection;
    const [a0, a1, a2, a3] = this.args;
    if (op !== SUPERVISOR_CALL.DEFINE && op !== SUPERVISOR_CALL.GRANT) return SUPERVISOR_ERROR.BAD_REQUEST;
    if (!this.enabled) return op === SUPERVISOR_CALL.DEFINE ? 1 : 0;
    if (op === SUPERVISOR_CALL.DEFINE) {
      if (!((a1 >>> 0) > (a0 >>> 0))) return SUPERVISOR_ERROR.BAD_REQUEST;
      try {
        return p.domainHandle(p.defineDomain(`guest-${p.domainCount}`, [{ start: a0 >>> 0, end: a1 >>> 0 }], "guest"))!;
      } catch (e) {
        if (e instanceof ProtectionError) return /overlap/.test(e.message) ? SUPERVISOR_ERROR.OVERLAP : SUPERVISOR_ERROR.BAD_REQUEST;
        throw e;
      }
    }
    // GRANT
    // The guest's id for the domain (it keeps it across moves; the monitor's domains have none).
    const domain = p.guestDomain(a0);
    if (domain === undefined) return SUPERVISOR_ERROR.NOT_YOURS;
    const va = a1 >>> 0;
    const bytes = a2;
    if (bytes <= 0 || (va & 3) !== 0 || (bytes & 3) !== 0 || a3 < 0 || a3 > 3 || va + bytes > 0x1_0000_0000) return SUPERVISOR_ERROR.BAD_REQUEST;
    // Translate every page first: a refused range changes nothing. A piece that continues the last one is merged
    // into it, and a whole page granted already is not granted again (the same permission: nothing changes) — a
    // guest may map one frame at every virtual page, and one call of 2^19 grants (each a PLB flush and a TLB
    // refresh) cost the host most of a second; the grants now cost what the distinct physical ranges do.
    const pieces: [number, number][] = [];
    const pages = new Set<number>();
    const translate = this.host.translator();
    for (let at = va; at < va + bytes; ) {
      const pageEnd = Math.min(va + bytes, (Math.floor(at / 4096) + 1) * 4096);
      const pa = translate(at);
      const n = pageEnd - at;
      if (pa === undefined || pa + n > this.host.guestLimit) return SUPERVISOR_ERROR.OUTSIDE_MEMORY;
      at = pageEnd;
      if (n === 4096) {
        if (pages.has(pa)) continue;
        pages.add(pa);
      }
      const last = pieces[pieces.length - 1];
      if (last !== undefined && last[0] + last[1] === pa) last[1] += n;
      else pieces.push([pa, n]);
    }
    // Only a piece's partial first or last frame can become mixed (whole frames fold into their top-level
    // entry): a grant that could take the tables past their bound is refused; whole pages always go through.
    let partial = 0;
    for (const [pa, n] of pieces) partial += (pa & 0xfff ? 1 : 0) + ((pa + n) & 0xfff ? 1 : 0);
    if (partial > 0 && p.mixedFrames() + partial > MAX_LEAVES_PER_FRAME * Math.floor(this.host.guestLimit / 4096)) return SUPERVISOR_ERROR.TABLES_FULL;
    for (const [pa, n] of pieces) p.grant(domain, pa, n, a3 as Perm, this.host.guestLimit);
    return 0;
  }
}
