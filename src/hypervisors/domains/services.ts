// The inter-domain services of the multi-guest host: grant tables, event
// channels and the device rendezvous (DEV_LOOKUP/PUBLISH/ACCEPT/STATUS),
// one implementation for every back end (xen's hypercalls, l4's IPC, and
// the domain device's ports all call `call`). It consumes the host's
// domains (their current machines) and the configuration's "who serves
// whom"; it produces op results, pending event bits (delivered by the host
// at the end of each window), and the shared-page bookkeeping the host's
// coherence step uses (docs/driver-vms.md, "Domain device and hypercall ABI",
// "Isolation").
//
// Every argument is checked before anything changes, and a refused op
// changes nothing: a domid out of range or the caller's own, a page not
// page-aligned or outside the caller's guest RAM (the monitor's reserved top
// included) or one of its page tables, a grant ref that is not live or not
// granted to the caller (forged, revoked, another pair's), a port out of
// 1..31 or not bound, an unknown device kind. A page is shared only as the
// calling code's protection domain inside its guest may reach it
// (docs/protection.md): granted, it must be able to read every word (and,
// read-write, to write it: the grantee's writes come back); mapped over, to
// write every word — else a module hidden from a page could have it read
// out by another guest, or overwritten, by the host (PERM).

import type { Machine } from "../../machine/machine.js";
import { KERNEL_DOMAIN } from "../../machine/protection/protection.js";
import { IRQ } from "../../guest-isa/registers.js";
import { HC, HC_ERROR } from "../common/hypercalls.js";
import { CONTROL_PORT, EVENT_PORTS, MAX_GRANTS, PAGE_SIZE } from "./abi.js";

/**
 * Host switch, for the differential test (test/domains/shared-window.test.ts):
 * false makes the coherence step compare every shared page after every turn,
 * tracking no writes, which must give the same results.
 */
export const sharedPageOptions = { tracked: true };

/** What the services see of a domain (the host's Domain). */
export interface ServedDomain {
  readonly id: number;
  readonly name: string;
  /** Its machine now (a new one after a restart). */
  readonly machine: Machine;
  /** Still running (not powered off, not stopped for good). */
  readonly alive: boolean;
  /** 0 at first boot, +1 at every restart. */
  readonly generation: number;
}

export interface Grant {
  readonly ref: number;
  readonly granter: number;
  readonly grantee: number;
  /** Guest-physical page address in the granter's RAM. */
  readonly page: number;
  readonly readOnly: boolean;
  /** Mappings of it (grantee pages) now. */
  mappedAt: Set<number>;
}

/** A page of a grantee backed by a grant. */
export interface Mapping {
  readonly granter: number;
  readonly ref: number;
  readonly readOnly: boolean;
}

/** An event port's state: free, allocated for `remote` to bind, or bound to `remote`'s `remotePort`. */
interface EventPort {
  state: "free" | "unbound" | "bound";
  remote: number;
  remotePort: number;
}

/**
 * What waits at a server for DEV_ACCEPT: a client's publication (its ring
 * grant ref and its event port), or a departure (ring DEPARTED): a client it
 * had accepted and bound a port to has ended, and `port` is the server's own
 * port that was bound to it (freed when the server accepts the departure).
 */
interface WaitingClient {
  client: number;
  kind: number;
  ring: number;
  port: number;
}

/** The ring ref of a departure (grant refs are ≥ 0): DEV_ACCEPT's ARG0 then says the client has ended. */
const DEPARTED = -1;

/** A publication a server accepted: the client, the kind and the client's port (what a departure names). */
interface Accepted {
  client: number;
  kind: number;
  port: number;
}

/** Counters of refused ops, by op name (the host's --stats), e.g. "GNT_MAP.NOENT". */
export type RefusalCounts = Map<string, number>;

export class DomainServices {
  /** Per domain: its grants by ref, and the next ref it hands out. */
  readonly grants: Map<number, Grant>[];
  private readonly nextRef: number[];
  /** Per domain: its pages backed by a foreign grant, by guest-physical page address. */
  readonly mappings: Map<number, Mapping>[];
  /**
   * The grants mapped now (mappedAt not empty), in the order they were mapped: what the host's
   * coherence step walks after every domain's turn when it tracks no writes (sharedPairs; else it
   * walks `mayDiffer`). Walking every domain's grants instead made a guest holding its 1,024
   * grants, none mapped, cost the host that many steps per domain per window — for every guest's
   * run, not only its own.
   */
  private readonly shared = new Set<Grant>();
  /**
   * Per domain: its frames (page >>> 12) shared now, granted or mapped, and the grant each
   * belongs to (one sharing per page: at most one). The host's write tracking
   * (machine.trackWrites) watches exactly these frames.
   */
  private readonly sharedFrames: Map<number, Grant>[];
  /**
   * The grants mapped now one side of which may have been written since the two were last the
   * same (made so by GNT_MAP's copy, or found or made so by the coherence step): every other
   * shared page holds the same bytes on both sides, so the coherence step compares only these.
   */
  private readonly mayDiffer = new Set<Grant>();
  /** sharedPageOptions.tracked when made: whether the machines track writes to the shared frames (else `mayDifferFor` is every shared page). */
  readonly tracked = sharedPageOptions.tracked;
  private readonly ports: EventPort[][];
  /** Per domain: pending event bits (visible through port 0x65), and bits sent this window (delivered at its end). */
  readonly pending: Int32Array;
  readonly incoming: Int32Array;
  /** Per domain: the global cycle each pending bit became pending (the watchdog). */
  readonly pendingSince: Float64Array[];
  private readonly waiting: WaitingClient[][];
  /** Per server: the publications it accepted, each (client, kind, port) once: where a departure is told (depart). */
  private readonly accepted: Accepted[][];
  /** Per domain: events sent (EVT_SEND), for the host's record of when a domain talked. */
  readonly sent: Float64Array;
  /** Per domain: clients accepted (DEV_ACCEPT) since its last (re)start: the host's restart time. */
  readonly accepts: Int32Array;
  /** Per domain: 1 once it has acknowledged an event since its last (re)start — booted far enough to serve (the watchdog). */
  readonly acknowledged: Uint8Array;
  readonly refusals: RefusalCounts = new Map();
  /** The same per calling domain (over all its generations): who was refused what. */
  readonly refusalsBy: RefusalCounts[];
  /** Ops performed, by name (stats). */
  readonly ops: Map<string, number> = new Map();
  /** Out values of the last op (DomainCalls.out is per caller: see DomainDevice). */
  readonly out = new Int32Array(2);

  constructor(
    /** The host's domains (filled in after construction: the services exist before the first machine). */
    private readonly domains: readonly ServedDomain[],
    count: number,
    /** The domid serving `kind` to `client`, per the configuration, or undefined. */
    private readonly serverOf: (client: number, kind: number) => number | undefined,
  ) {
    const n = count;
    this.grants = Array.from({ length: n }, () => new Map());
    this.nextRef = new Array<number>(n).fill(0);
    this.mappings = Array.from({ length: n }, () => new Map());
    this.sharedFrames = Array.from({ length: n }, () => new Map());
    this.ports = Array.from({ length: n }, () => Array.from({ length: EVENT_PORTS }, () => ({ state: "free" as const, remote: -1, remotePort: -1 })));
    this.pending = new Int32Array(n);
    this.incoming = new Int32Array(n);
    this.pendingSince = Array.from({ length: n }, () => new Float64Array(EVENT_PORTS));
    this.waiting = Array.from({ length: n }, () => []);
    this.accepted = Array.from({ length: n }, () => []);
    this.accepts = new Int32Array(n);
    this.acknowledged = new Uint8Array(n);
    this.sent = new Float64Array(n);
    this.refusalsBy = Array.from({ length: n }, () => new Map());
  }

  /** Domain `d`'s machine now (its device and monitor name their caller by its pc). */
  machineOf(d: number): Machine {
    return this.domains[d].machine;
  }

  /**
   * Performs op `op` for domain `self`, called by the code at `pc` in its
   * guest (the `hcall`, or the port `out`; none: the host's own call, as
   * domain 0's): the result (≥ 0, or an HC_ERROR); second/third values in `out`.
   */
  call(self: number, op: number, a0: number, a1: number, a2: number, pc?: number): number {
    this.out[0] = 0;
    this.out[1] = 0;
    // The protection domain, inside the calling guest, of the op (Protection.callerDomain of its pc).
    const caller = pc === undefined ? KERNEL_DOMAIN : this.domains[self].machine.protection.callerDomain(pc);
    const r = this.perform(self, caller, op, a0, a1, a2);
    // An op number it does not know is counted under one name, not its own: the number is the guest's
    // (any 32-bit value written to the OP port), and a key per number would let a guest cycling through
    // them grow both maps — and the --stats line and --json that print them — without bound.
    const name = OP_NAMES.get(op) ?? UNKNOWN_OP;
    if (r < 0) {
      const key = `${name}.${ERROR_NAMES.get(r) ?? r}`;
      this.refusals.set(key, (this.refusals.get(key) ?? 0) + 1);
      const mine = this.refusalsBy[self];
      mine.set(key, (mine.get(key) ?? 0) + 1);
    } else this.ops.set(name, (this.ops.get(name) ?? 0) + 1);
    return r;
  }

  private perform(self: number, caller: number, op: number, a0: number, a1: number, a2: number): number {
    switch (op) {
      case HC.GNT_GRANT:
        return this.grant(self, caller, a0, a1, a2);
      case HC.GNT_MAP:
        return this.map(self, caller, a0, a1, a2);
      case HC.GNT_UNMAP:
        return this.unmap(self, a0);
      case HC.GNT_REVOKE:
        return this.revoke(self, a0);
      case HC.EVT_ALLOC:
        return this.evtAlloc(self, a0);
      case HC.EVT_BIND:
        return this.evtBind(self, a0, a1);
      case HC.EVT_SEND:
        return this.evtSend(self, a0);
      case HC.DEV_LOOKUP:
        return this.serverOf(self, a0) ?? HC_ERROR.NOENT;
      case HC.DEV_PUBLISH:
        return this.publish(self, a0, a1, a2);
      case HC.DEV_ACCEPT:
        return this.accept(self, a0);
      case HC.DEV_STATUS: {
        const s = this.serverOf(self, a0);
        return s === undefined ? HC_ERROR.NOENT : this.domains[s].generation;
      }
      default:
        return HC_ERROR.NOSYS;
    }
  }

  /** A domid other than `self`, of a live domain. */
  private peer(self: number, d: number): boolean {
    return Number.isInteger(d) && d >= 0 && d < this.domains.length && d !== self && this.domains[d].alive;
  }

  /** A page-aligned guest-physical page of `d`'s own RAM that is not one of its page tables (xen write-protects those). */
  private ownPage(d: number, page: number): boolean {
    const m = this.domains[d].machine;
    if ((page & (PAGE_SIZE - 1)) !== 0 || page < 0 || page + PAGE_SIZE > m.memory.guestLimit) return false;
    return m.mmu.monitorWatched[page >>> 12] === 0;
  }

  // ---------------------------------------------------------------- grants

  private grant(self: number, caller: number, remote: number, page: number, ro: number): number {
    if (!this.peer(self, remote) || (ro !== 0 && ro !== 1)) return HC_ERROR.INVAL;
    if (!this.ownPage(self, page)) return HC_ERROR.FAULT;
    if (!this.callerMay(self, caller, page, ro === 0)) return HC_ERROR.PERM;
    // A page I map from someone else is not mine to grant on (no transitive sharing).
    if (this.mappings[self].has(page)) return HC_ERROR.PERM;
    if (this.grants[self].size >= MAX_GRANTS) return HC_ERROR.AGAIN;
    const ref = this.nextRef[self]++;
    this.grants[self].set(ref, { ref, granter: self, grantee: remote, page, readOnly: ro === 1, mappedAt: new Set() });
    return ref;
  }

  private map(self: number, caller: number, granter: number, ref: number, page: number): number {
    if (!this.peer(self, granter)) return HC_ERROR.INVAL;
    const g = this.grants[granter].get(ref);
    if (!g || g.grantee !== self) return HC_ERROR.NOENT; // forged, revoked, or granted to another domain
    if (!this.ownPage(self, page)) return HC_ERROR.FAULT;
    if (!this.callerMay(self, caller, page, true, false)) return HC_ERROR.PERM;
    // The granter mapped someone else's grant over the page after granting it: no transitive sharing (as GNT_GRANT refuses).
    if (this.mappings[granter].has(g.page)) return HC_ERROR.PERM;
    // One sharing per page: not already backed by a grant, not one of my own granted pages.
    // One mapping per grant (so a grantee's writes have one source), one sharing per page — on the
    // granter's side too: its page granted twice and mapped by two would have two copies the host
    // makes coherent with it one at a time, and a stale one would overwrite the other's writes.
    if (g.mappedAt.size > 0 || this.mappings[self].has(page) || this.isGranted(self, page) || this.isGranted(granter, g.page)) return HC_ERROR.BUSY;
    this.mappings[self].set(page, { granter, ref, readOnly: g.readOnly });
    g.mappedAt.add(page);
    this.shared.add(g);
    // The page now shows the granter's contents (the host keeps the copies coherent from here on).
    copyPage(this.domains[granter].machine, g.page, this.domains[self].machine, page);
    this.track(g, page, true);
    return 0;
  }

  /** Grant `g`'s sharing at the grantee's `page` begins (`on`; both sides the same now) or ends: its two frames tracked or no longer. */
  private track(g: Grant, page: number, on: boolean): void {
    if (!this.tracked) return;
    for (const [d, at] of [[g.granter, g.page], [g.grantee, page]]) {
      if (on) this.sharedFrames[d].set(at >>> 12, g);
      else this.sharedFrames[d].delete(at >>> 12);
      this.domains[d].machine.trackWrites(at, on);
    }
    this.mayDiffer.delete(g);
  }

  /**
   * Whether protection domain `caller` in `d`'s guest may read (`read`)
   * and write (`write`) every word of its page `page`: the checks the CPU
   * would make for its own loads and stores (Protection.allowsFor, counted
   * and charged on a restricted frame).
   */
  private callerMay(d: number, caller: number, page: number, write: boolean, read = true): boolean {
    const p = this.domains[d].machine.protection;
    if (p.checked[page >>> 12] !== 1) return true;
    for (let w = page; w < page + PAGE_SIZE; w += 4) {
      if ((read && !p.allowsFor(caller, w, false)) || (write && !p.allowsFor(caller, w, true))) return false;
    }
    return true;
  }

  private isGranted(d: number, page: number): boolean {
    for (const g of this.grants[d].values()) if (g.page === page && g.mappedAt.size > 0) return true;
    return false;
  }

  private unmap(self: number, page: number): number {
    const mp = this.mappings[self].get(page);
    if (!mp) return HC_ERROR.NOENT;
    this.mappings[self].delete(page);
    this.unmapped(mp, page);
    return 0;
  }

  /** Mapping `mp` at `page` has ended: its grant (if still live) is mapped there no more. */
  private unmapped(mp: Mapping, page: number): void {
    const g = this.grants[mp.granter].get(mp.ref);
    if (g === undefined) return;
    g.mappedAt.delete(page);
    if (g.mappedAt.size === 0) this.shared.delete(g);
    this.track(g, page, false);
  }

  private revoke(self: number, ref: number): number {
    const g = this.grants[self].get(ref);
    if (!g) return HC_ERROR.NOENT;
    if (g.mappedAt.size > 0) return HC_ERROR.BUSY;
    this.grants[self].delete(ref);
    return 0;
  }

  // ---------------------------------------------------------------- events

  private freePort(d: number): number {
    const ports = this.ports[d];
    for (let p = 1; p < EVENT_PORTS; p++) if (ports[p].state === "free") return p;
    return -1;
  }

  private evtAlloc(self: number, remote: number): number {
    if (!this.peer(self, remote)) return HC_ERROR.INVAL;
    const p = this.freePort(self);
    if (p < 0) return HC_ERROR.AGAIN;
    Object.assign(this.ports[self][p], { state: "unbound", remote, remotePort: -1 });
    return p;
  }

  private evtBind(self: number, remote: number, remotePort: number): number {
    if (!this.peer(self, remote) || !Number.isInteger(remotePort) || remotePort < 1 || remotePort >= EVENT_PORTS) return HC_ERROR.INVAL;
    const rp = this.ports[remote][remotePort];
    if (rp.state !== "unbound" || rp.remote !== self) return HC_ERROR.NOENT;
    // The port `remote` had bound to self's previous life, waiting for `remote` to take self's departure (a restarted
    // client-driver): not one `remote` allocated for self to bind. The departure tells `remote` it is free, and so it must be.
    if (this.departureWaiting(remote, self, remotePort)) return HC_ERROR.NOENT;
    const p = this.freePort(self);
    if (p < 0) return HC_ERROR.AGAIN;
    Object.assign(this.ports[self][p], { state: "bound", remote, remotePort });
    Object.assign(rp, { state: "bound", remotePort: p });
    return p;
  }

  private evtSend(self: number, port: number): number {
    if (!Number.isInteger(port) || port < 1 || port >= EVENT_PORTS) return HC_ERROR.INVAL;
    const p = this.ports[self][port];
    if (p.state !== "bound") return HC_ERROR.NOENT;
    if (this.domains[p.remote].alive) this.incoming[p.remote] |= 1 << p.remotePort;
    this.sent[self]++;
    return 0;
  }

  /** The host raises a domain's control port (a client published; its server was restarted). */
  raiseControl(d: number): void {
    this.incoming[d] |= 1 << CONTROL_PORT;
  }

  /**
   * End of a window: the events sent in it become pending on their domains
   * (line 4 asserted on CPU 0 while any is pending). `now`: the window's end,
   * when the watchdog starts counting for each newly pending bit.
   */
  deliver(now: number): void {
    for (let d = 0; d < this.domains.length; d++) {
      const inc = this.incoming[d];
      if (inc === 0) continue;
      this.incoming[d] = 0;
      if (!this.domains[d].alive) continue;
      const fresh = inc & ~this.pending[d];
      for (let b = 0; b < EVENT_PORTS; b++) if (fresh & (1 << b)) this.pendingSince[d][b] = now;
      this.pending[d] |= inc;
      this.domains[d].machine.raiseLine(IRQ.EVENT, 0);
    }
  }

  /** Port 0x65 write: acknowledges the bits; line 4 is lowered when none is left. */
  acknowledge(d: number, bits: number): void {
    this.acknowledged[d] = 1;
    this.pending[d] &= ~bits;
    if (this.pending[d] === 0) this.domains[d].machine.lowerLine(IRQ.EVENT, 0);
  }

  /**
   * Its monitor delivered `d`'s event line (DOM_FEATURE.EDGE_EVENTS): the
   * line is lowered, the pending bits stay until acknowledged — except while
   * the control port is pending, whose event (a new client, a restarted
   * server) must not be missed: the line stays asserted until it is acknowledged.
   */
  upcall(d: number): void {
    if ((this.pending[d] & (1 << CONTROL_PORT)) === 0) this.domains[d].machine.lowerLine(IRQ.EVENT, 0);
  }

  /** The earliest cycle a still-pending event of `d` became pending (Infinity: none). */
  oldestPending(d: number): number {
    let t = Infinity;
    const p = this.pending[d];
    for (let b = 0; b < EVENT_PORTS; b++) if (p & (1 << b)) t = Math.min(t, this.pendingSince[d][b]);
    return t;
  }

  // ---------------------------------------------------------------- devices

  private publish(self: number, kind: number, ring: number, port: number): number {
    const server = this.serverOf(self, kind);
    if (server === undefined) return HC_ERROR.NOENT;
    const g = this.grants[self].get(ring);
    if (!g || g.grantee !== server) return HC_ERROR.NOENT;
    if (!Number.isInteger(port) || port < 1 || port >= EVENT_PORTS) return HC_ERROR.INVAL;
    const p = this.ports[self][port];
    if (p.state === "free" || p.remote !== server) return HC_ERROR.NOENT;
    const q = this.waiting[server].filter((w) => !(w.client === self && w.kind === kind && w.ring !== DEPARTED));
    // A publication that replaces one still waiting is not announced again: that one's control event
    // was raised, so the server accepts (DEV_ACCEPT until EAGAIN) once more and takes this one then. A
    // client that publishes again and again therefore raises the server's line 4 once per acceptance,
    // not once per publication — which, under hvm (an event interrupt is ~12 exits, ~30,000 cycles),
    // kept a booting server taking interrupts back to back for the whole flood (docs/driver-vms.md, "Connect").
    const announced = q.length !== this.waiting[server].length;
    q.push({ client: self, kind, ring, port });
    this.waiting[server] = q;
    if (!announced) this.raiseControl(server);
    return 0;
  }

  private accept(self: number, kind: number): number {
    const q = this.waiting[self];
    const i = q.findIndex((w) => w.kind === kind);
    if (i < 0) return HC_ERROR.AGAIN;
    const [w] = q.splice(i, 1);
    this.out[0] = w.ring;
    this.out[1] = w.port;
    if (w.ring === DEPARTED) {
      // The server has heard of it: its port that was bound to the client is its own to reuse (no op frees a port).
      const p = this.ports[self][w.port];
      if (p.state === "unbound" && p.remote === w.client) Object.assign(p, { state: "free", remote: -1, remotePort: -1 });
      return w.client;
    }
    this.accepts[self]++;
    // Every (client, kind, port) accepted is kept, not only the latest: a publication the server refuses
    // (published twice, with another port) binds nothing, and the port it did bind must still be found
    // when the client ends (depart). At most one entry per client port (31), so a client cannot grow it.
    const seen = this.accepted[self].some((a) => a.client === w.client && a.kind === kind && a.port === w.port);
    if (!seen) this.accepted[self].push({ client: w.client, kind, port: w.port });
    return w.client;
  }

  /**
   * Client `d` is being torn down: every server that accepted it and still
   * has a port bound to its port gets a departure waiting (after anything
   * waiting already) and its control port raised, as a new publication does:
   * it learns of the end through DEV_ACCEPT, and may let go of what it kept
   * for the client. A server that refused it (bound nothing) hears nothing.
   */
  private depart(d: number): void {
    for (let s = 0; s < this.accepted.length; s++) {
      const mine = this.accepted[s].filter((a) => a.client === d);
      if (mine.length === 0) continue;
      this.accepted[s] = this.accepted[s].filter((a) => a.client !== d);
      for (const a of mine) {
        const port = this.ports[s].findIndex((p) => p.state === "bound" && p.remote === d && p.remotePort === a.port);
        // Not bound (a refused publication), or bound and told already (the same client port under two kinds).
        if (port < 0 || this.departureWaiting(s, d, port)) continue;
        this.waiting[s].push({ client: d, kind: a.kind, ring: DEPARTED, port });
        this.raiseControl(s);
      }
    }
  }

  /** Whether server `s` has client `d`'s departure waiting for its port `port` (one that was bound to `d`). */
  private departureWaiting(s: number, d: number, port: number): boolean {
    return this.waiting[s].some((w) => w.ring === DEPARTED && w.client === d && w.port === port);
  }

  // ---------------------------------------------------------------- restart

  /**
   * Domain `d` is restarted, or has ended for good (the host's `over`):
   * everything it held is torn down, as a hypervisor destroys a domain. Its
   * grants disappear (whoever mapped them keeps a private copy of the last
   * contents), its own mappings end (its granters may revoke), its event
   * ports are freed and every peer port bound to it goes back to "unbound,
   * for d" (EVT_SEND on it refused; a restarted d's client publishes it
   * again), its pending events and the clients waiting on it are dropped,
   * and so is every request it published elsewhere; each server that had
   * accepted it and bound a port to it gets a departure (depart).
   */
  tearDown(d: number): void {
    this.acknowledged[d] = 0;
    // Its publications waiting elsewhere are dropped (not a departure not yet taken), then its servers are told (before its ports are unbound).
    for (let s = 0; s < this.waiting.length; s++) this.waiting[s] = this.waiting[s].filter((w) => w.client !== d || w.ring === DEPARTED);
    this.depart(d);
    for (const g of this.grants[d].values()) {
      for (const page of g.mappedAt) {
        this.mappings[g.grantee].delete(page);
        this.track(g, page, false);
      }
      this.shared.delete(g);
    }
    this.grants[d].clear();
    this.nextRef[d] = 0;
    for (const [page, mp] of this.mappings[d]) this.unmapped(mp, page);
    this.mappings[d].clear();
    for (let p = 0; p < EVENT_PORTS; p++) {
      const port = this.ports[d][p];
      if (port.state === "bound") {
        const peer = this.ports[port.remote][port.remotePort];
        Object.assign(peer, { state: "unbound", remotePort: -1 });
      }
      Object.assign(port, { state: "free", remote: -1, remotePort: -1 });
    }
    // Peers' ports allocated for d to bind stay allocated for it (the restarted d may bind them again) — but for a port that
    // was bound to d, whose departure the peer has not taken yet: evtBind refuses it until then (the departure says it is free).
    this.pending[d] = 0;
    this.incoming[d] = 0;
    this.accepts[d] = 0;
    this.waiting[d] = [];
    this.accepted[d] = [];
  }

  /** The live shared pages as (granter page, grantee page) pairs (all of them may differ, untracked). */
  private *sharedPairs(): Generator<{ grant: Grant; page: number }> {
    for (const g of this.shared) for (const page of g.mappedAt) yield { grant: g, page };
  }

  /**
   * For the coherence step after domain `d`'s turn: the shared pages `d`
   * takes part in that may differ between their two sides (see
   * `mayDiffer`) as (granter page, grantee page) pairs. Every other page `d`
   * shares is the same on both sides. Hand them back to `settled` once
   * the host has made them the same (or ended their sharing).
   */
  mayDifferFor(d: number): { grant: Grant; page: number }[] {
    if (!this.tracked) return [...this.sharedPairs()].filter(({ grant }) => grant.granter === d || grant.grantee === d);
    this.noteWrites();
    const out: { grant: Grant; page: number }[] = [];
    for (const g of this.mayDiffer) {
      if (g.granter === d || g.grantee === d) for (const page of g.mappedAt) out.push({ grant: g, page });
    }
    return out;
  }

  /** The pairs of `mayDifferFor` are the same on both sides now (the host's copies included), or no longer shared. */
  settled(pairs: readonly { grant: Grant }[]): void {
    if (!this.tracked) return;
    this.noteWrites(); // the host's own copies: written, but to make the two the same
    for (const { grant } of pairs) this.mayDiffer.delete(grant);
  }

  /**
   * Every domain's shared frames written since last asked (by anything: its
   * CPUs, its devices, the host) make their grants `mayDiffer`. Every
   * domain's, not only the one whose turn it was: the host writes others'
   * between turns (its copies, a crash injection). Asked even when it shares
   * nothing now: a guest that maps, writes and unmaps within its turn, over
   * and over, leaves frames in its machine's list, which would otherwise grow.
   */
  private noteWrites(): void {
    for (let d = 0; d < this.domains.length; d++) {
      const frames = this.sharedFrames[d];
      for (const f of this.domains[d].machine.takeTrackedWrites()) {
        const g = frames.get(f);
        if (g !== undefined) this.mayDiffer.add(g);
      }
    }
  }
}

/** Copies a 4 KiB page between two machines' RAM (guest-physical addresses, already checked). */
export function copyPage(from: Machine, fromPage: number, to: Machine, toPage: number): void {
  to.memory.writeBytes(toPage, from.memory.u8.subarray(fromPage, fromPage + PAGE_SIZE));
}

/** Whether two machines' pages hold the same bytes. */
export function samePage(a: Machine, aPage: number, b: Machine, bPage: number): boolean {
  const x = a.memory.i32;
  const y = b.memory.i32;
  const i = aPage >>> 2;
  const j = bPage >>> 2;
  for (let k = 0; k < PAGE_SIZE / 4; k++) if (x[i + k] !== y[j + k]) return false;
  return true;
}

const OP_NAMES: ReadonlyMap<number, string> = new Map(
  (["GNT_GRANT", "GNT_MAP", "GNT_UNMAP", "GNT_REVOKE", "EVT_ALLOC", "EVT_BIND", "EVT_SEND", "DEV_LOOKUP", "DEV_PUBLISH", "DEV_ACCEPT", "DEV_STATUS"] as const).map((k) => [HC[k], k]),
);
/** The name --stats and --json count an op number that is none of the above under ("UNKNOWN_OP.ENOSYS"). */
const UNKNOWN_OP = "UNKNOWN_OP";
const ERROR_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(HC_ERROR).map(([k, v]) => [v, `E${k}`]));
