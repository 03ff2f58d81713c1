// The disk: ports 0x30–0x33, 512-byte sectors, DMA, completion on line 2.
//
//   out 0x30, rs   sector number for the next command     (in: reads it back)
//   out 0x31, rs   DMA physical address (guest-physical)  (in: reads it back)
//   out 0x32, rs   command: 1 = read sector → memory, 2 = write memory → sector.
//                  Starts the transfer; the disk is busy for DISK_LATENCY_CYCLES,
//                  then the bytes move, status becomes DONE (or DONE|ERROR) and
//                  line 2 is asserted. A command while busy, or an unknown
//                  command, sets DONE|ERROR at once (and asserts line 2).
//   in  rd, 0x33   status: bit 0 BUSY, bit 1 DONE, bit 2 ERROR. No side effect.
//   out 0x33, rs   acknowledge (any value): clears DONE and ERROR, lowers line 2.
//
// ERROR: sector beyond the image, DMA range outside guest RAM, or no disk.
// Backing: an in-memory image (tests, the playground) or a file (`--disk IMG`,
// src/cli/host-devices.ts), read and written a sector at a time; an image has
// floor(size / 512) sectors.

import { IRQ } from "../../guest-isa/registers.js";
import { PORT, type Device, type InterruptLines } from "../bus/ports.js";
import type { PhysicalMemory } from "../memory.js";

export const SECTOR_SIZE = 512;
/** Modelled latency of one sector transfer: ≈ 25 µs at 2 GHz, a fast SSD. */
export const DISK_LATENCY_CYCLES = 50_000;

export const DISK_CMD = { READ: 1, WRITE: 2 } as const;
export const DISK_STATUS = { BUSY: 1 << 0, DONE: 1 << 1, ERROR: 1 << 2 } as const;

export interface DiskBacking {
  readonly sectors: number;
  readSector(sector: number, into: Uint8Array): void;
  writeSector(sector: number, from: Uint8Array): void;
  close?(): void;
}

export function memoryDisk(image: Uint8Array): DiskBacking & { image: Uint8Array } {
  return {
    image,
    sectors: Math.floor(image.length / SECTOR_SIZE),
    readSector: (s, into) => into.set(image.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE)),
    writeSector: (s, from) => image.set(from, s * SECTOR_SIZE),
  };
}

export interface DiskState {
  sector: number;
  dma: number;
  status: number;
  command: number;
  completesAt: number;
  transfers: number;
}

/** Every sector of a backing, as one image (for a snapshot). */
export function readWholeDisk(b: DiskBacking): Uint8Array {
  const out = new Uint8Array(b.sectors * SECTOR_SIZE);
  for (let s = 0; s < b.sectors; s++) b.readSector(s, out.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE));
  return out;
}

export class DiskDevice implements Device {
  readonly name = "disk";
  readonly ports = [PORT.DISK_SECTOR, PORT.DISK_DMA, PORT.DISK_COMMAND, PORT.DISK_STATUS];
  private sector = 0;
  private dma = 0;
  private status = 0;
  private command = 0;
  private completesAt = Infinity;
  private readonly buf = new Uint8Array(SECTOR_SIZE);
  transfers = 0;

  constructor(
    readonly backing: DiskBacking | undefined,
    private readonly memory: PhysicalMemory,
    private readonly lines: InterruptLines,
    private readonly latency = DISK_LATENCY_CYCLES,
  ) {}

  read(port: number): number {
    switch (port) {
      case PORT.DISK_SECTOR:
        return this.sector;
      case PORT.DISK_DMA:
        return this.dma;
      case PORT.DISK_COMMAND:
        return this.command;
      default:
        return this.status;
    }
  }

  write(port: number, value: number, now: number): void {
    switch (port) {
      case PORT.DISK_SECTOR:
        this.sector = value >>> 0;
        return;
      case PORT.DISK_DMA:
        this.dma = value >>> 0;
        return;
      case PORT.DISK_COMMAND:
        this.start(value, now);
        return;
      default:
        this.status &= ~(DISK_STATUS.DONE | DISK_STATUS.ERROR);
        this.lines.lower(IRQ.DISK);
    }
  }

  nextEvent(): number {
    return this.completesAt;
  }

  /** Registers and the pending completion (absolute cycle), for a snapshot; the image is saved apart. */
  saveState(): DiskState {
    return { sector: this.sector, dma: this.dma, status: this.status, command: this.command, completesAt: this.completesAt, transfers: this.transfers };
  }
  restoreState(s: DiskState): void {
    ({ sector: this.sector, dma: this.dma, status: this.status, command: this.command, completesAt: this.completesAt, transfers: this.transfers } = s);
  }

  onEvent(): void {
    this.completesAt = Infinity;
    const ok = this.transfer();
    this.finish(ok);
  }

  private start(command: number, now: number): void {
    if (this.status & DISK_STATUS.BUSY || (command !== DISK_CMD.READ && command !== DISK_CMD.WRITE)) {
      this.finish(false);
      return;
    }
    this.command = command;
    this.status = DISK_STATUS.BUSY;
    this.completesAt = now + this.latency;
  }

  private transfer(): boolean {
    const b = this.backing;
    if (!b || this.sector >= b.sectors || this.dma + SECTOR_SIZE > this.memory.guestLimit) return false;
    try {
      if (this.command === DISK_CMD.READ) {
        b.readSector(this.sector, this.buf);
        this.memory.writeBytes(this.dma, this.buf);
      } else {
        b.writeSector(this.sector, this.memory.u8.subarray(this.dma, this.dma + SECTOR_SIZE));
      }
    } catch {
      return false; // e.g. a read-only image file
    }
    this.transfers++;
    return true;
  }

  private finish(ok: boolean): void {
    this.status = (this.status & ~DISK_STATUS.BUSY) | DISK_STATUS.DONE | (ok ? 0 : DISK_STATUS.ERROR);
    this.lines.raise(IRQ.DISK);
  }
}
