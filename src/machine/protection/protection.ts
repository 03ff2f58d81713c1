// Protection domains (docs/protection.md, docs/design.md §9): the machine's
// word-granularity memory protection, after Mondrian Memory Protection
// (Witchel, Cates, Asanović, ASPLOS 2002) and Mondrix (SOSP 2005).
//
// Consumes: domain definitions and grants from a monitor (this API:
// `machine.protection.defineDomain/grant`) or from the guest kernel's memory
// supervisor (supervisor.ts); and, from the CPU's slow path, every load or
// store to a frame that some domain restricts. Produces: allow / deny (the
// CPU raises cause 10, protection fault), the counters and the figures
// (checks, PLB hits and misses, extra table references, table bytes).
//
// Design (why):
// - A domain is chosen by the address of the executing instruction: a sorted
//   table of non-overlapping code ranges → domain, and domain 0 ("kernel")
//   everywhere else. Code ranges are virtual (pc values), so an inline
//   rewritten site inside kernel code can belong to the VMM's domain.
// - Permissions are over *physical* addresses: the guest kernel controls its
//   own page tables, so permissions on virtual addresses could be escaped by
//   mapping the same frame a second time; physical permissions hold under any
//   mapping, and the check sits where the slow path already has the physical
//   address.
// - Every domain starts with read-write everywhere; grants restrict words.
//   A frame any domain restricts is a *checked* frame: the MMU gives it no
//   fast TLB tag (mmu.ts), so its loads and stores reach the CPU's slow path
//   and this check, in the interpreter and the JIT alike. Code that never
//   touches a checked frame pays nothing, in cycles or in host time.
// - Cost: a PLB hit is free (looked up beside the TLB, as in Mondrian); a
//   miss walks the table and each table reference is charged the cost
//   model's `permissionRef` (docs/cost-model.md).
// - Who may change what: the monitor's domains (owner "monitor") only through
//   this API; the guest's memory supervisor may create domains and grant
//   only within guest memory, only from domain 0's code, and never over a
//   monitor-owned domain (supervisor.ts refuses the rest).
// - No confused deputy: a monitor's code performing a guest instruction (a
//   rewritten site, a stub) reaches guest memory with that instruction's
//   caller's rights (accessDomain), and a monitor's own access for a guest
//   is checked for the caller's domain (allowsFor) — never with the
//   monitor's rights (docs/protection.md "What the VMM checks on a
//   caller's behalf").

import { PERM, PermissionTable, WORDS_PER_FRAME, type Perm } from "./table.js";
import { Plb, type PlbState } from "./plb.js";

export { PERM, type Perm } from "./table.js";

/** Domain 0: every instruction outside all code ranges. */
export const KERNEL_DOMAIN = 0;
/** At most this many domains (the PLB tag's domain field, and a bound on the per-check loop over domains). */
export const MAX_DOMAINS = 64;

export type DomainOwner = "monitor" | "guest";

export interface CodeRange {
  /** First byte (virtual pc). */
  readonly start: number;
  /** One past the last byte. */
  readonly end: number;
  /**
   * A monitor's code inline in the guest's text (a rewritten site): a guest
   * domain's range may enclose it whole. The site stays the monitor's for
   * loads and stores, and counts as the enclosing guest domain's code when
   * it performs that code's instruction for it (`callerDomain`).
   */
  readonly inline?: boolean;
  /**
   * A monitor's out-of-line code that performs guest instructions (the
   * rewriter's stubs, shared by sites): the pc of the guest instruction it
   * performs now (its site). Like an inline range, its loads and stores to
   * guest memory are that instruction's (accessDomain).
   */
  readonly performs?: () => number;
}

/** A refused definition or grant (overlap, outside memory, wrong owner): a value the caller reports. */
export class ProtectionError extends Error {}

export interface ProtectionCounters {
  /** Loads and stores checked (accesses to restricted frames). */
  checks: number;
  plbHits: number;
  plbMisses: number;
  /** Permissions-table references made by PLB misses (Mondrian's extra references). */
  extraRefs: number;
  /** Accesses refused (cause 10 raised). */
  faults: number;
}

/**
 * A domain the guest's memory supervisor set up, as a snapshot keeps it
 * (the kernel domain's entry: the guest's grants on domain 0). Only what the
 * guest did: its code ranges as it declared them and its permissions over
 * guest memory; the monitor's domains and limits are the target monitor's
 * to set up again.
 */
export interface GuestDomainState {
  /** The guest's id for it (what DEFINE returned; 0: the kernel domain). */
  handle: number;
  /** Its id in the machine that saved it (the PLB's tags name it: an exact resume needs the same). */
  id: number;
  name: string;
  /** Its code as the guest declared it: [start, end) pairs, ascending (none for the kernel domain). */
  ranges: Uint32Array;
  /** Its restrictions over guest memory: (physical address, bytes, permission) triples, ascending, not overlapping. */
  perms: Uint32Array;
}

export interface ProtectionState {
  plb: PlbState;
  counters: ProtectionCounters;
  /** The guest's domains, the kernel domain first (absent: snapshots from before they were kept, or a guest that defined none). */
  guest?: GuestDomainState[];
}

/** What the protection unit needs from the machine around it. */
export interface ProtectionHost {
  /** Bytes of physical memory (the monitor's reach). */
  readonly memorySize: number;
  /** First physical byte the guest cannot address itself. */
  readonly guestLimit: number;
  /** Frames [first, last] became checked or unchecked: re-derive their fast TLB tags. */
  framesChanged(first: number, last: number): void;
  /** Charges `refs` permissions-table references. */
  chargeRefs(refs: number): void;
}

/** One row of the code-range table (the sorted arrays below, unpacked while a domain is defined). */
interface RangeEntry {
  start: number;
  end: number;
  domain: number;
  caller: number;
  inline: boolean;
  performs: (() => number) | undefined;
}

interface Domain {
  readonly id: number;
  readonly name: string;
  readonly owner: DomainOwner;
  readonly table: PermissionTable;
  /** The guest's id for a guest domain (its id where it was defined; kept across moves, where the monitor's domains may take other ids). */
  handle: number;
  /** The code ranges as declared (a guest domain's are re-defined on a new back end, whose inline sites differ). */
  readonly declared: readonly CodeRange[];
}

export class Protection {
  private readonly domains: Domain[] = [];
  /** Code ranges sorted by start: [start, end) → domain. */
  private starts = new Float64Array(0);
  private ends = new Float64Array(0);
  private owners = new Int32Array(0);
  /** Per range: the domain whose instruction its code performs (callerDomain): the owner, or for an inline range the guest domain enclosing it (0 when none). */
  private callers = new Int32Array(0);
  private inlines = new Uint8Array(0);
  /** Per range: CodeRange.performs, or undefined. */
  private performers: ((() => number) | undefined)[] = [];
  /** The monitor's limits on every guest domain, now and later (limitGuestDomains). */
  private readonly guestLimits: { pa: number; bytes: number; perm: Perm }[] = [];
  /** Per physical frame: 1 when some domain restricts a word in it (shared with the MMU). */
  readonly checked: Uint8Array;
  private readonly plb = new Plb();
  readonly counters: ProtectionCounters = { checks: 0, plbHits: 0, plbMisses: 0, extraRefs: 0, faults: 0 };

  constructor(private readonly host: ProtectionHost) {
    this.checked = new Uint8Array(host.memorySize >>> 12);
    this.domains.push({ id: KERNEL_DOMAIN, name: "kernel", owner: "monitor", table: new PermissionTable(this.checked.length), handle: KERNEL_DOMAIN, declared: [] });
  }

  /** Whether any domain beyond the default exists or any grant was made. */
  get active(): boolean {
    return this.domains.length > 1 || this.domains[0].table.bytes() > 0;
  }

  /**
   * Creates a domain for the code in `ranges` (virtual pc ranges). Refused:
   * an empty or wrapping range, one that overlaps any domain's code (its own
   * included) — except that a guest domain's range may enclose whole inline
   * monitor ranges no other guest domain encloses (they stay the monitor's
   * and become holes in it) — and more than MAX_DOMAINS. A guest domain
   * starts with domain 0's restrictions beyond the guest's memory (the
   * monitor's: a guest cannot define its way into the VMM's pages). Returns
   * the new domain's id.
   */
  defineDomain(name: string, ranges: readonly CodeRange[], owner: DomainOwner = "monitor"): number {
    if (this.domains.length >= MAX_DOMAINS) throw new ProtectionError(`too many protection domains (at most ${MAX_DOMAINS})`);
    const sorted = ranges
      .map((r) => ({
        start: r.start >>> 0,
        end: r.end === 0x1_0000_0000 ? r.end : r.end >>> 0,
        inline: owner === "monitor" && r.inline === true,
        performs: owner === "monitor" ? r.performs : undefined,
      }))
      .sort((a, b) => a.start - b.start);
    const id = this.domains.length;
    const old = this.rangesList();
    const pieces: RangeEntry[] = [];
    for (let i = 0; i < sorted.length; i++) {
      const r = sorted[i];
      if (!(r.end > r.start)) throw new ProtectionError(`domain ${name}: code range 0x${hex(r.start)}–0x${hex(r.end)} is empty or wraps`);
      if (i > 0 && sorted[i - 1].end > r.start) throw new ProtectionError(`domain ${name}: its code ranges overlap at 0x${hex(r.start)}`);
      let at = r.start;
      for (const o of old) {
        if (!(o.start < r.end && r.start < o.end)) continue;
        const hole = owner === "guest" && o.inline && o.caller === KERNEL_DOMAIN && r.start <= o.start && o.end <= r.end;
        if (!hole) throw new ProtectionError(`domain ${name}: code range 0x${hex(r.start)}–0x${hex(r.end)} overlaps domain ${this.domains[o.domain].name}`);
        if (o.start > at) pieces.push({ start: at, end: o.start, domain: id, caller: id, inline: false, performs: undefined });
        at = o.end;
      }
      // An inline range performs guest code: domain 0's until a guest domain encloses it.
      if (r.end > at) pieces.push({ start: at, end: r.end, domain: id, caller: r.inline ? KERNEL_DOMAIN : id, inline: r.inline, performs: r.performs });
    }
    const table = new PermissionTable(this.checked.length);
    // The guest's id: the domain's own, unless a domain restored from elsewhere holds it already.
    let handle = id;
    for (const d of this.domains) if (d.owner === "guest" && d.handle >= handle) handle = d.handle + 1;
    // Past 2^31 - 1 (a snapshot may hold any guest id up to it): the lowest free one, so ids stay positive int32 port values a snapshot can hold.
    if (handle > 0x7fff_ffff) for (handle = 1; this.domains.some((d) => d.owner === "guest" && d.handle === handle); ) handle++;
    this.domains.push({ id, name, owner, table, handle: owner === "guest" ? handle : -1, declared: sorted.map((r) => ({ start: r.start, end: r.end })) });
    // The holes' code now performs the new domain's instructions.
    for (const o of old) if (o.inline && o.caller === KERNEL_DOMAIN && sorted.some((r) => r.start <= o.start && o.end <= r.end)) o.caller = id;
    const all = [...old, ...pieces].sort((a, b) => a.start - b.start);
    this.starts = Float64Array.from(all, (r) => r.start);
    this.ends = Float64Array.from(all, (r) => r.end);
    this.owners = Int32Array.from(all, (r) => r.domain);
    this.callers = Int32Array.from(all, (r) => r.caller);
    this.inlines = Uint8Array.from(all, (r) => (r.inline ? 1 : 0));
    this.performers = all.map((r) => r.performs);
    this.memoStart = 1;
    this.memoEnd = 0;
    this.plb.flush();
    if (owner === "guest") {
      this.inheritMonitorLimits(table);
      for (const l of this.guestLimits) this.grant(id, l.pa, l.bytes, l.perm);
    }
    return id;
  }


  /**
   * A monitor's limit on every domain the guest defines, now and later:
   * permission `perm` on physical [pa, pa + bytes) — words the monitor acts
   * on for domain 0 alone (a para-virtualized guest's page-table queue,
   * vmm-protection.ts). Domain 0 keeps its own permissions there; the frames
   * become checked only once a guest domain exists. Refused as `grant`
   * refuses.
   */
  limitGuestDomains(pa: number, bytes: number, perm: Perm): void {
    for (const d of this.domains) if (d.owner === "guest") this.grant(d.id, pa, bytes, perm);
    this.guestLimits.push({ pa, bytes, perm });
  }

  /** Copies domain 0's restrictions on frames beyond the guest's memory (only the monitor grants there) into a new guest domain's table. */
  private inheritMonitorLimits(table: PermissionTable): void {
    const runs = this.permRuns(this.domains[KERNEL_DOMAIN].table, Math.ceil(this.host.guestLimit / 4096), this.checked.length);
    for (let i = 0; i < runs.length; i += 3) table.set(runs[i], runs[i + 1], runs[i + 2] as Perm);
  }

  /**
   * Sets domain `domain`'s permission on the words of physical [pa, pa + bytes).
   * Refused: an unknown domain, a range not word-aligned, empty, or reaching
   * beyond `limit` (physical memory for the monitor; the guest's memory for
   * the supervisor). Takes effect at once (the PLB is flushed).
   */
  grant(domain: number, pa: number, bytes: number, perm: Perm, limit = this.host.memorySize): void {
    const d = this.domains[domain];
    if (d === undefined) throw new ProtectionError(`no protection domain ${domain}`);
    if (!(perm >= 0 && perm <= 3 && Number.isInteger(perm))) throw new ProtectionError(`bad permission ${perm}`);
    if (!Number.isInteger(pa) || !Number.isInteger(bytes) || pa < 0 || bytes <= 0 || (pa & 3) !== 0 || (bytes & 3) !== 0) {
      throw new ProtectionError(`domain ${d.name}: grant 0x${hex(pa)}+${bytes} is not a non-empty word-aligned range`);
    }
    if (pa + bytes > limit) throw new ProtectionError(`domain ${d.name}: grant 0x${hex(pa)}+${bytes} reaches outside memory (limit 0x${hex(limit)})`);
    const { first, last } = d.table.set(pa, bytes, perm);
    for (let f = first; f <= last; f++) {
      let any = 0;
      for (const x of this.domains) if (x.table.restricts(f)) any = 1;
      this.checked[f] = any;
    }
    this.plb.flush();
    this.host.framesChanged(first, last);
  }

  /**
   * domainOf's last answer: the interval of pcs [memoStart, memoEnd) — a
   * domain's code range, or the gap between two — that the last pc fell in,
   * and its domain. The in-place VMM's domain has a code range per
   * rewritten site (hundreds), and a site's checked accesses come in runs
   * (1.4 M checks in `mixed` at scale 200 under xen). Empty until the first
   * look-up and after each defineDomain.
   */
  private memoStart = 1;
  private memoEnd = 0;
  private memoDomain = KERNEL_DOMAIN;
  /** The range memoStart..memoEnd is (-1: a gap between ranges). */
  private memoIndex = -1;

  /** The domain executing at virtual `pc`. */
  domainOf(pc: number): number {
    const p = pc >>> 0;
    if (p >= this.memoStart && p < this.memoEnd) return this.memoDomain;
    const hi = this.lastRangeAtOrBelow(p);
    // In that range, or in the gap after it.
    if (hi >= 0 && p < this.ends[hi]) {
      this.memoStart = this.starts[hi];
      this.memoEnd = this.ends[hi];
      this.memoIndex = hi;
      return (this.memoDomain = this.owners[hi]);
    }
    this.memoIndex = -1;
    this.memoStart = hi >= 0 ? this.ends[hi] : 0;
    this.memoEnd = hi + 1 < this.starts.length ? this.starts[hi + 1] : 0x1_0000_0000;
    return (this.memoDomain = KERNEL_DOMAIN);
  }

  /**
   * The domain whose instruction at virtual `pc` is being performed: the
   * domain of `pc`, except in monitor code that performs a guest
   * instruction — an inline range (a rewritten site: the guest domain
   * enclosing it, 0 when none) or a stub (its site's caller) — never the
   * monitor's own (rangeCaller). The memory supervisor's caller when a
   * monitor emulates the guest's `out` at a site.
   */
  callerDomain(pc: number): number {
    const p = pc >>> 0;
    const hi = this.lastRangeAtOrBelow(p);
    return hi >= 0 && p < this.ends[hi] ? this.rangeCaller(hi) : KERNEL_DOMAIN;
  }

  /**
   * Code range `i`'s caller: its owner; for an inline site, the guest domain
   * enclosing it (0 when none); for out-of-line code that performs a guest
   * instruction (`performs`), that instruction's caller — a guest domain or
   * 0, never the monitor's. The one rule callerDomain and accessDomain share.
   */
  private rangeCaller(i: number): number {
    const performs = this.performers[i];
    if (performs === undefined) return this.callers[i];
    const c = this.callerDomain(performs());
    return this.domains[c].owner === "guest" ? c : KERNEL_DOMAIN;
  }

  /**
   * The domain whose permissions judge the load or store at physical `pa`
   * made by the instruction at virtual `pc`: domainOf(pc) — except that a
   * monitor's code performing a guest instruction (an inline site, or
   * out-of-line code with `performs`) reaches guest memory as that
   * instruction's caller (callerDomain; 0 unless a guest domain's), never
   * with the monitor's own rights; beyond guest memory (the monitor's
   * pages) it stays the monitor's.
   */
  accessDomain(pc: number, pa: number): number {
    const d = this.domainOf(pc);
    const i = this.memoIndex;
    // callerDomain(pc) without a second search: domainOf has found the range.
    return i < 0 || pa >= this.host.guestLimit ? d : this.rangeCaller(i);
  }

  /** The last code range starting at or below `p` (-1: none). */
  private lastRangeAtOrBelow(p: number): number {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid] <= p) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi;
  }

  /** The domain the guest names `handle` (DEFINE's answer; 0 the kernel's): a guest domain or the kernel's, never the monitor's. */
  guestDomain(handle: number): number | undefined {
    if (handle === KERNEL_DOMAIN) return KERNEL_DOMAIN;
    for (const d of this.domains) if (d.owner === "guest" && d.handle === handle) return d.id;
    return undefined;
  }

  /** The guest's id for domain `id` (what DEFINE returned for it). */
  domainHandle(id: number): number | undefined {
    return this.domains[id]?.handle;
  }

  domainName(id: number): string | undefined {
    return this.domains[id]?.name;
  }

  domainOwner(id: number): DomainOwner | undefined {
    return this.domains[id]?.owner;
  }

  get domainCount(): number {
    return this.domains.length;
  }

  /** The reference check: the permission of the word at `pa` for `domain`, straight from the table. */
  permission(domain: number, pa: number): Perm {
    return this.domains[domain].table.get(pa);
  }

  /**
   * The CPU's check (slow path, access to a checked frame): may the
   * instruction at `pc` do `write ? store : load` at physical `pa`, for
   * accessDomain(pc, pa)? Counts and charges the lookup.
   */
  allows(pc: number, pa: number, write: boolean): boolean {
    return this.allowsIn(this.accessDomain(pc, pa), pa, write);
  }

  /**
   * `allows` for domain `domain`: a monitor performing a guest's load or
   * store at a rewritten site checks it for the domain whose instruction it
   * performs (callerDomain), counted and charged as the CPU's check is.
   */
  allowsIn(domain: number, pa: number, write: boolean): boolean {
    const c = this.counters;
    c.checks++;
    const p = this.plb.lookup(domain, this.domains[domain].table, pa);
    const refs = this.plb.refs;
    if (refs === 0) c.plbHits++;
    else {
      c.plbMisses++;
      c.extraRefs += refs;
      this.host.chargeRefs(refs);
    }
    const ok = (p & (write ? PERM.W : PERM.R)) !== 0;
    if (!ok) c.faults++;
    return ok;
  }

  /**
   * The check a monitor makes for a load or store it performs on behalf of
   * domain `domain` (a hypercall's argument, an emulated site's access, a
   * page it shares): allowsIn — counted and charged as the CPU's — on a
   * frame some domain restricts; on any other frame, yes at no cost, as the
   * CPU's fast path.
   */
  allowsFor(domain: number, pa: number, write: boolean): boolean {
    return this.checked[pa >>> 12] !== 1 || this.allowsIn(domain, pa, write);
  }

  /**
   * `allows`' answer with none of its effects (no counter, no PLB fill, no
   * charge): the table's permission, which the PLB caches (it is flushed
   * whenever a domain or grant changes). Translated code asks this first
   * (cpu.ts checkedAccess), so that an access it leaves to the interpreter
   * has been counted nowhere.
   */
  permits(pc: number, pa: number, write: boolean): boolean {
    const domain = this.accessDomain(pc, pa);
    return (this.domains[domain].table.get(pa) & (write ? PERM.W : PERM.R)) !== 0;
  }

  /** Bytes of every domain's permissions table (Mondrian's table memory). */
  tableBytes(): number {
    let n = 0;
    for (const d of this.domains) n += d.table.bytes();
    return n;
  }

  /** Frames that have a leaf (mixed permissions) in some domain. */
  mixedFrames(): number {
    let n = 0;
    for (const d of this.domains) n += d.table.mixedFrames();
    return n;
  }

  /**
   * What a snapshot keeps: the PLB, the counters, and the guest's domains
   * (the monitor's are the target monitor's to set up again).
   */
  saveState(): ProtectionState {
    const guest = this.domains.some((d) => d.owner === "guest") || this.guestPerms(this.domains[KERNEL_DOMAIN].table).length > 0 ? this.saveGuestDomains() : undefined;
    return { plb: this.plb.save(), counters: { ...this.counters }, ...(guest ? { guest } : {}) };
  }

  private saveGuestDomains(): GuestDomainState[] {
    return this.domains
      .filter((d) => d.id === KERNEL_DOMAIN || d.owner === "guest")
      .map((d) => ({
        handle: d.handle,
        id: d.id,
        name: d.name,
        ranges: Uint32Array.from(d.declared.flatMap((r) => [r.start, r.end])),
        perms: Uint32Array.from(this.guestPerms(d.table)),
      }));
  }

  /** A table's restrictions within guest memory as (address, bytes, permission) runs, ascending. */
  private guestPerms(t: PermissionTable): number[] {
    return this.permRuns(t, 0, Math.floor(this.host.guestLimit / 4096));
  }

  /** A table's restrictions on frames [from, to) as (address, bytes, permission) runs of one permission each, ascending. */
  private permRuns(t: PermissionTable, from: number, to: number): number[] {
    const out: number[] = [];
    let runStart = from * 4096;
    let runPerm: number = PERM.RW;
    const close = (end: number) => {
      if (runPerm !== PERM.RW) out.push(runStart, end - runStart, runPerm);
    };
    for (let f = from; f < to; f++) {
      const e = t.entry(f);
      // A frame with no restriction, or one uniform permission: one step.
      if (e === 0 || (e & 1) !== 0) {
        const p = e === 0 ? PERM.RW : (e >>> 1) & 3;
        if (p !== runPerm) {
          close(f * 4096);
          runStart = f * 4096;
          runPerm = p;
        }
        continue;
      }
      for (let w = 0; w < WORDS_PER_FRAME; w++) {
        const a = f * 4096 + w * 4;
        const p = t.get(a);
        if (p === runPerm) continue;
        close(a);
        runStart = a;
        runPerm = p;
      }
    }
    close(to * 4096);
    return out;
  }

  /**
   * Restores the counters, the guest's domains and — `exact`, resuming where
   * the snapshot was taken — the PLB's entries, so the resumed run charges
   * what the uninterrupted one would; otherwise the PLB starts cold. The
   * guest's domains are defined again after the monitor's (its monitor is
   * attached): on the same back end they take the ids they had (a
   * ProtectionError otherwise), elsewhere whatever ids come next, the guest
   * keeping its own (`handle`); a range that cuts one of the new back end's
   * inline sites is refused (ProtectionError). Fresh machine only.
   */
  restoreState(s: ProtectionState | undefined, exact: boolean): void {
    for (const g of s?.guest ?? []) {
      let id = KERNEL_DOMAIN;
      if (g.id !== KERNEL_DOMAIN) {
        const ranges: CodeRange[] = [];
        for (let i = 0; i < g.ranges.length; i += 2) ranges.push({ start: g.ranges[i], end: g.ranges[i + 1] });
        id = this.defineDomain(g.name, ranges, "guest");
        if (exact && id !== g.id) throw new ProtectionError(`guest domain ${g.name} was domain ${g.id}, here ${id}`);
        this.domains[id].handle = g.handle;
      }
      for (let i = 0; i < g.perms.length; i += 3) this.grant(id, g.perms[i], g.perms[i + 1], g.perms[i + 2] as Perm, this.host.guestLimit);
    }
    this.plb.restore(exact ? s?.plb : undefined);
    const c = s?.counters;
    for (const k of Object.keys(this.counters) as (keyof ProtectionCounters)[]) {
      const v = c?.[k];
      this.counters[k] = typeof v === "number" && Number.isFinite(v) ? v : 0;
    }
  }

  private rangesList(): RangeEntry[] {
    return Array.from(this.starts, (start, i) => ({
      start,
      end: this.ends[i],
      domain: this.owners[i],
      caller: this.callers[i],
      inline: this.inlines[i] === 1,
      performs: this.performers[i],
    }));
  }
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}
