// Physical memory: one ArrayBuffer at physical 0..size, with the typed-array
// views the CPU's hot loop indexes directly (little-endian host assumed, as
// every supported Node platform is).
//
// A monitor may reserve the top of RAM for itself (`reserveTop`): the guest's
// own translations (paging off, or its page tables) then see `guestLimit`
// bytes and get a bus error above; only translations a monitor supplies may
// point into the reserved part.

export const DEFAULT_RAM_SIZE = 64 * 1024 * 1024;
export const PAGE_SIZE = 4096;

export class PhysicalMemory {
  readonly buffer: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly i32: Int32Array;
  readonly size: number;
  /** First byte the guest cannot address itself (= size unless a monitor reserved the top). */
  guestLimit: number;

  constructor(size = DEFAULT_RAM_SIZE) {
    if (!Number.isInteger(size) || size <= 0 || size % PAGE_SIZE !== 0 || size > 0x8000_0000) {
      throw new RangeError(`RAM size must be a positive multiple of ${PAGE_SIZE} up to 2 GiB, got ${size}`);
    }
    // Lazily committed by the OS: untouched pages cost no resident memory.
    this.buffer = new ArrayBuffer(size);
    this.u8 = new Uint8Array(this.buffer);
    this.u16 = new Uint16Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.size = size;
    this.guestLimit = size;
  }

  /** Reserves `bytes` (rounded up to pages) at the top of RAM; returns the physical base. */
  reserveTop(bytes: number): number {
    const rounded = Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
    if (rounded >= this.guestLimit) throw new RangeError(`cannot reserve ${bytes} bytes of ${this.guestLimit}`);
    this.guestLimit -= rounded;
    return this.guestLimit;
  }

  /** Whether [pa, pa+len) lies in RAM. */
  contains(pa: number, len = 1): boolean {
    return pa >= 0 && pa + len <= this.size;
  }

  read32(pa: number): number {
    this.check(pa, 4);
    return pa & 3 ? new DataView(this.buffer).getInt32(pa, true) : this.i32[pa >>> 2];
  }
  read16(pa: number): number {
    this.check(pa, 2);
    return this.u8[pa] | (this.u8[pa + 1] << 8);
  }
  read8(pa: number): number {
    this.check(pa, 1);
    return this.u8[pa];
  }
  write32(pa: number, v: number): void {
    this.check(pa, 4);
    if (pa & 3) new DataView(this.buffer).setInt32(pa, v, true);
    else this.i32[pa >>> 2] = v;
  }
  write16(pa: number, v: number): void {
    this.check(pa, 2);
    this.u8[pa] = v;
    this.u8[pa + 1] = v >>> 8;
  }
  write8(pa: number, v: number): void {
    this.check(pa, 1);
    this.u8[pa] = v;
  }
  /** Copies bytes in (the loader, the disk's DMA, monitors). */
  writeBytes(pa: number, bytes: Uint8Array): void {
    this.check(pa, bytes.length);
    this.u8.set(bytes, pa);
  }
  readBytes(pa: number, len: number): Uint8Array {
    this.check(pa, len);
    return this.u8.slice(pa, pa + len);
  }

  private check(pa: number, len: number): void {
    if (!this.contains(pa, len)) throw new RangeError(`physical access 0x${(pa >>> 0).toString(16)}+${len} outside RAM`);
  }
}
