// The memory-mapped disk ("nvdisk"): the machine's first MMIO device, a
// disk-like device driven through queues in guest memory, for VMM-bypass
// I/O (docs/machine.md "MMIO: the nvdisk"; docs/driver-vms.md "VMM-bypass I/O").
//
// Consumes register accesses (the machine's MMIO slow path, or a monitor's
// device model, calls `mmioRead`/`mmioWrite` with the offset in the
// window), the machine's physical memory (DMA) and a DiskBacking (as the
// port disk: `--nvdisk IMG`). Produces completions written into guest
// memory by DMA, DISK_LATENCY_CYCLES per sector after the request is
// started, and interrupt line 5 (IRQ.NVDISK).
//
// Register window: two 4 KiB pages at NVDISK_BASE (physical, above any RAM).
// Page 0, setup (a hypervisor that passes the device through keeps these
// to itself — they name guest memory the device will write):
//   +0x00 ID        r   NVDISK_ID ("NVD1")
//   +0x04 SECTORS   r   sectors of the image (512 bytes each)
//   +0x08 SQ_BASE   rw  guest-physical address of the submission queue (16-byte entries)
//   +0x0C CQ_BASE   rw  guest-physical address of the completion queue (8-byte entries)
//   +0x10 QSIZE     rw  entries per queue, 2–256 (the same for both)
//                       (the three: the queues' geometry, written only while disabled, else ignored)
//   +0x14 CONTROL   rw  bit 0 enable (0 → 1 resets the queue indexes; 1 → 0 drops the request in flight),
//                       bit 1 interrupt enable
// Page 1, per request (what a passed-through guest touches directly):
//   +0x1000 SQ_TAIL  rw  doorbell: the index after the last submitted entry
//   +0x1004 CQ_HEAD  rw  the index after the last completion the driver consumed
//   +0x1008 CQ_TAIL  r   the index after the last completion written
//   +0x100C STATUS   r   bit 0 interrupt pending, bit 1 busy, bit 2 halted (a queue could not be reached)
//                    w   acknowledge (any value): clears the pending bit, lowers line 5
// Submission entry (16 bytes): op (1 read sector → memory, 2 write memory → sector), sector,
// guest-physical data address (512 bytes), tag. Completion entry (8 bytes): tag, status
// (0 ok; -1 bad op or sector; -2 data address outside guest RAM; -3 the entry could not be read).
//
// Requests run one at a time in queue order: starting one reads its entry,
// the transfer and its completion happen DISK_LATENCY_CYCLES later, then
// the next starts — an error completion too (a bad op, or an entry the
// device could not read), so an error costs what a request does. Every
// DMA — the entry read, the data transfer, the completion write — is
// checked as the access it performs, against guest
// RAM (`memory.guestLimit`: never a monitor's reserved top, never outside
// this machine's memory): a bad data address is an error completion; a
// completion queue that cannot be written halts the device (STATUS bit 2,
// line 5 raised) until it is disabled and enabled again. Never a host exception.
//
// Sizes: the registers are 32-bit words; the machine refuses other sizes
// and unaligned accesses (a bus error). Reads of unused offsets return 0,
// writes to them are ignored. Port 0x34 reads NVDISK_ID while the device is
// attached (an unattached machine leaves the port unclaimed: open bus, -1),
// so a kernel can probe for it without touching the window.

import { IRQ } from "../../guest-isa/registers.js";
import type { Device, InterruptLines } from "../bus/ports.js";
import type { PhysicalMemory } from "../memory.js";
import { DISK_LATENCY_CYCLES, SECTOR_SIZE, type DiskBacking } from "./disk.js";

/** Physical base of the register window: above the largest RAM the machine allows (2 GiB). */
export const NVDISK_BASE = 0xf000_0000;
/** Bytes of the window: the setup page and the per-request page. */
export const NVDISK_WINDOW_BYTES = 0x2000;
/** The ID register's value, and port 0x34's while the device is attached ("NVD1", little-endian). */
export const NVDISK_ID = 0x3144_564e;
/** The presence port. */
export const NVDISK_PRESENT_PORT = 0x34;

export const NVDISK_REG = {
  ID: 0x00, SECTORS: 0x04, SQ_BASE: 0x08, CQ_BASE: 0x0c, QSIZE: 0x10, CONTROL: 0x14,
  SQ_TAIL: 0x1000, CQ_HEAD: 0x1004, CQ_TAIL: 0x1008, STATUS: 0x100c,
} as const;
/** First offset of the per-request page. */
export const NVDISK_DOORBELL_PAGE = 0x1000;
export const NVDISK_CONTROL = { ENABLE: 1, IRQ: 2 } as const;
export const NVDISK_STATUS = { PENDING: 1, BUSY: 2, HALTED: 4 } as const;
export const NVDISK_OP = { READ: 1, WRITE: 2 } as const;
/** Completion statuses. */
export const NVDISK_ERR = { REQUEST: -1, DMA: -2, ENTRY: -3 } as const;
export const NVDISK_SQ_ENTRY = 16;
export const NVDISK_CQ_ENTRY = 8;
export const NVDISK_MAX_QSIZE = 256;

export interface NvdiskState {
  sqBase: number;
  cqBase: number;
  qsize: number;
  control: number;
  sqHead: number;
  sqTail: number;
  cqHead: number;
  cqTail: number;
  status: number;
  completesAt: number;
  /**
   * The request in flight: op, sector, data address, tag (op 0: none; a request that fails at its
   * completion has its status as op: NVDISK_ERR.REQUEST for a bad op, ENTRY for an entry the device
   * could not read, tag -1).
   */
  op: number;
  sector: number;
  dma: number;
  tag: number;
  transfers: number;
  errors: number;
}

export class NvdiskDevice implements Device {
  readonly name = "nvdisk";
  readonly ports = [NVDISK_PRESENT_PORT];
  private sqBase = 0;
  private cqBase = 0;
  private qsize = 0;
  private control = 0;
  private sqHead = 0;
  private sqTail = 0;
  private cqHead = 0;
  private cqTail = 0;
  private status = 0;
  private completesAt = Infinity;
  private op = 0;
  private sector = 0;
  private dma = 0;
  private tag = 0;
  private readonly buf = new Uint8Array(SECTOR_SIZE);
  /** Sectors moved, and error completions (counters for tests and stats). */
  transfers = 0;
  errors = 0;

  constructor(
    readonly backing: DiskBacking,
    private readonly memory: PhysicalMemory,
    private readonly lines: InterruptLines,
    private readonly latency = DISK_LATENCY_CYCLES,
  ) {}

  // ---------------------------------------------------------------- port 0x34 (presence)

  read(): number {
    return NVDISK_ID;
  }
  write(): void {}

  // ---------------------------------------------------------------- the register window

  /** A 32-bit read of the register at `offset` in the window. */
  mmioRead(offset: number): number {
    switch (offset) {
      case NVDISK_REG.ID: return NVDISK_ID;
      case NVDISK_REG.SECTORS: return this.backing.sectors | 0;
      case NVDISK_REG.SQ_BASE: return this.sqBase | 0;
      case NVDISK_REG.CQ_BASE: return this.cqBase | 0;
      case NVDISK_REG.QSIZE: return this.qsize;
      case NVDISK_REG.CONTROL: return this.control;
      case NVDISK_REG.SQ_TAIL: return this.sqTail;
      case NVDISK_REG.CQ_HEAD: return this.cqHead;
      case NVDISK_REG.CQ_TAIL: return this.cqTail;
      case NVDISK_REG.STATUS: return this.status | (this.op !== 0 ? NVDISK_STATUS.BUSY : 0);
      default: return 0;
    }
  }

  /**
   * Whether a write to the register at `offset` would be ignored now: a queue
   * geometry register (SQ_BASE, CQ_BASE, QSIZE) while the device is enabled —
   * a live queue keeps its geometry, as NVMe's ASQ/ACQ/AQA take writes only
   * while CC.EN = 0. A monitor that checks what a write names asks this first:
   * a write the device ignores names nothing.
   */
  ignoresWrite(offset: number): boolean {
    return isNvdiskGeometry(offset) && (this.control & NVDISK_CONTROL.ENABLE) !== 0;
  }

  /** A 32-bit write of the register at `offset`; `now` is the cycle of the access. */
  mmioWrite(offset: number, value: number, now: number): void {
    if (this.ignoresWrite(offset)) return;
    switch (offset) {
      case NVDISK_REG.SQ_BASE:
        this.sqBase = value >>> 0;
        return;
      case NVDISK_REG.CQ_BASE:
        this.cqBase = value >>> 0;
        return;
      case NVDISK_REG.QSIZE:
        if (value >= 2 && value <= NVDISK_MAX_QSIZE) this.qsize = value; // out of range: ignored
        return;
      case NVDISK_REG.CONTROL: {
        const was = this.control & NVDISK_CONTROL.ENABLE;
        this.control = value & (NVDISK_CONTROL.ENABLE | NVDISK_CONTROL.IRQ);
        if (was && (this.control & NVDISK_CONTROL.ENABLE) === 0) this.drop();
        if (!was && this.control & NVDISK_CONTROL.ENABLE) {
          this.sqHead = this.sqTail = this.cqHead = this.cqTail = 0;
          this.status &= ~NVDISK_STATUS.HALTED;
        }
        if ((this.control & NVDISK_CONTROL.IRQ) === 0) this.lines.lower(IRQ.NVDISK);
        else if (this.status & NVDISK_STATUS.PENDING) this.lines.raise(IRQ.NVDISK);
        return;
      }
      case NVDISK_REG.SQ_TAIL:
        if (this.qsize !== 0) this.sqTail = (value >>> 0) % this.qsize;
        this.startNext(now);
        return;
      case NVDISK_REG.CQ_HEAD:
        if (this.qsize !== 0) this.cqHead = (value >>> 0) % this.qsize;
        this.startNext(now); // a full completion queue may have held the next request back
        return;
      case NVDISK_REG.STATUS:
        this.status &= ~NVDISK_STATUS.PENDING;
        this.lines.lower(IRQ.NVDISK);
        return;
      default:
    }
  }

  // ---------------------------------------------------------------- events

  nextEvent(): number {
    return this.completesAt;
  }

  onEvent(now: number): void {
    this.completesAt = Infinity;
    const status = this.transfer();
    const tag = this.tag;
    this.op = 0;
    this.complete(tag, status);
    this.startNext(now);
  }

  /**
   * A disable (CONTROL bit 0, 1 → 0) resets the device as clearing NVMe's CC.EN resets a controller: the
   * request in flight is aborted — no transfer, no completion, no interrupt, counted neither a transfer nor
   * an error — so a driver that resets the device to recover never gets a completion it did not submit to
   * the queues it sets up next, nor a transfer into a buffer it may have reused (before 2 Dec 2026 the
   * request still completed, into the new queue's first slot). Pending and halted stay until acknowledged
   * and re-enabled, as before; the entries not yet started stay in memory, unread.
   */
  private drop(): void {
    this.op = 0;
    this.completesAt = Infinity;
  }

  /** Starts the next submitted request if the device is idle, enabled and has room for its completion. */
  private startNext(now: number): void {
    if (this.op !== 0 || (this.control & NVDISK_CONTROL.ENABLE) === 0 || this.status & NVDISK_STATUS.HALTED || this.qsize === 0) return;
    if (this.sqHead === this.sqTail) return;
    if ((this.cqTail + 1) % this.qsize === this.cqHead) return; // no room for the completion yet
    const at = this.sqBase + this.sqHead * NVDISK_SQ_ENTRY;
    this.sqHead = (this.sqHead + 1) % this.qsize;
    // A request that will fail still takes its slot in time — a bad op, and an entry the device cannot read
    // (an error completion with no tag to name) — so errors cost what requests do (no fast path to probe with).
    if (!this.inRam(at, NVDISK_SQ_ENTRY)) {
      this.op = NVDISK_ERR.ENTRY;
      this.sector = 0;
      this.dma = 0;
      this.tag = -1;
    } else {
      const i = at >>> 2;
      const op = this.memory.i32[i];
      this.sector = this.memory.i32[i + 1] >>> 0;
      this.dma = this.memory.i32[i + 2] >>> 0;
      this.tag = this.memory.i32[i + 3];
      this.op = op === NVDISK_OP.READ || op === NVDISK_OP.WRITE ? op : NVDISK_ERR.REQUEST;
    }
    this.completesAt = now + this.latency;
  }

  /** The request's transfer at its completion: 0 or an NVDISK_ERR. */
  private transfer(): number {
    if (this.op === NVDISK_ERR.ENTRY) return NVDISK_ERR.ENTRY;
    if (this.op < 0 || this.sector >= this.backing.sectors) return NVDISK_ERR.REQUEST;
    if (!this.inRam(this.dma, SECTOR_SIZE)) return NVDISK_ERR.DMA;
    try {
      if (this.op === NVDISK_OP.READ) {
        this.backing.readSector(this.sector, this.buf);
        this.memory.writeBytes(this.dma, this.buf);
      } else {
        this.backing.writeSector(this.sector, this.memory.u8.subarray(this.dma, this.dma + SECTOR_SIZE));
      }
    } catch {
      return NVDISK_ERR.REQUEST; // e.g. a read-only image file
    }
    this.transfers++;
    return 0;
  }

  /** Writes a completion entry (DMA) and interrupts; a completion queue out of reach halts the device. */
  private complete(tag: number, status: number): void {
    if (status !== 0) this.errors++;
    const at = this.cqBase + this.cqTail * NVDISK_CQ_ENTRY;
    if (!this.inRam(at, NVDISK_CQ_ENTRY)) {
      this.status |= NVDISK_STATUS.HALTED;
      this.errors++;
    } else {
      this.memory.write32(at, tag);
      this.memory.write32(at + 4, status);
      this.cqTail = (this.cqTail + 1) % this.qsize;
    }
    this.status |= NVDISK_STATUS.PENDING;
    if (this.control & NVDISK_CONTROL.IRQ) this.lines.raise(IRQ.NVDISK);
  }

  /** Whether [pa, pa + len) is guest RAM (4-byte aligned for the queues' words). */
  private inRam(pa: number, len: number): boolean {
    return pa % 4 === 0 && pa + len <= this.memory.guestLimit;
  }

  // ---------------------------------------------------------------- snapshots

  saveState(): NvdiskState {
    const { sqBase, cqBase, qsize, control, sqHead, sqTail, cqHead, cqTail, status, completesAt, op, sector, dma, tag, transfers, errors } = this;
    return { sqBase, cqBase, qsize, control, sqHead, sqTail, cqHead, cqTail, status, completesAt, op, sector, dma, tag, transfers, errors };
  }

  restoreState(s: NvdiskState): void {
    Object.assign(this, s);
  }
}

/**
 * What is wrong with a saved NvdiskState (a snapshot's, docs/migration.md),
 * or undefined: every field present with a value the device itself could
 * have produced, so a damaged snapshot is refused before anything runs.
 */
export function nvdiskStateProblem(v: unknown): string | undefined {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return "not an object";
  const s = v as Record<string, unknown>;
  const int = (k: string, lo: number, hi: number) => (typeof s[k] === "number" && Number.isInteger(s[k]) && (s[k] as number) >= lo && (s[k] as number) <= hi ? undefined : k);
  const u32 = 0xffff_ffff;
  const bad =
    int("sqBase", 0, u32) ?? int("cqBase", 0, u32) ?? int("sector", 0, u32) ?? int("dma", 0, u32) ?? int("tag", -0x8000_0000, 0x7fff_ffff) ??
    int("qsize", 0, NVDISK_MAX_QSIZE) ?? int("control", 0, NVDISK_CONTROL.ENABLE | NVDISK_CONTROL.IRQ) ?? int("status", 0, NVDISK_STATUS.PENDING | NVDISK_STATUS.HALTED) ??
    int("op", NVDISK_ERR.ENTRY, NVDISK_OP.WRITE) ?? int("transfers", 0, Number.MAX_SAFE_INTEGER) ?? int("errors", 0, Number.MAX_SAFE_INTEGER);
  if (bad) return bad;
  if (s.op === NVDISK_ERR.DMA) return "op"; // a data address is checked at the transfer, never at the start
  const qsize = s.qsize as number;
  if (qsize === 1) return "qsize";
  if ((s.status as number) & NVDISK_STATUS.BUSY) return "status"; // busy is derived from the request in flight, never stored
  // A disabled device keeps its indices across a QSIZE write (the enable resets them): below the largest size then.
  const enabled = ((s.control as number) & NVDISK_CONTROL.ENABLE) !== 0;
  const last = qsize === 0 ? 0 : enabled ? qsize - 1 : NVDISK_MAX_QSIZE - 1;
  for (const k of ["sqHead", "sqTail", "cqHead", "cqTail"]) if (int(k, 0, last)) return k;
  // A request in flight completes at a cycle; none in flight: never. A disable drops it, so only an enabled device has one.
  const at = s.completesAt;
  if (typeof at !== "number" || Number.isNaN(at) || at < 0 || (s.op === 0) !== (at === Infinity)) return "completesAt";
  // A request starts only on an enabled device with queues that is not halted (startNext), and a halt or a
  // disable ends it: none in flight otherwise (a completion into a queue of size 0 would compute NaN indexes).
  if (s.op !== 0 && (!enabled || qsize === 0 || (s.status as number) & NVDISK_STATUS.HALTED)) return "op";
  return undefined;
}

/**
 * Whether the register at `offset` is one of the queues' geometry — SQ_BASE, CQ_BASE, QSIZE — which take
 * writes only while the device is disabled (CONTROL bit 0 clear) and ignore them while it is enabled, as
 * NVMe defines ASQ, ACQ and AQA only while CC.EN = 0: a request in flight keeps the completion slot and
 * the next entries it was submitted with (until 2 Dec 2026 the bases could move under it — the completion
 * was written at the new CQ_BASE, the next entries read from the new SQ_BASE; QSIZE was always so).
 */
function isNvdiskGeometry(offset: number): boolean {
  return offset === NVDISK_REG.SQ_BASE || offset === NVDISK_REG.CQ_BASE || offset === NVDISK_REG.QSIZE;
}

/** Whether physical `pa` lies in the nvdisk's register window. */
export function inNvdiskWindow(pa: number): boolean {
  const p = pa >>> 0;
  return p >= NVDISK_BASE && p < NVDISK_BASE + NVDISK_WINDOW_BYTES;
}
