// Physical memory: one ArrayBuffer at physical 0..size, with the typed-array
// views the CPU's hot loop indexes directly (little-endian host assumed, as
// every supported Node platform is).
//
// The buffer also holds, *before* RAM, a small region of CPU state (the
// registers at heap index 0–15, then the TLB's fast tags and addends, the
// control-transfer ring, the legality table): the interpreter reaches RAM and
// that state through one Int32Array (`heap32`), as asm.js code does, so V8
// checks one array instead of one per table, and a register is `heap32[r]`
// with no offset to add (see cpu.ts). RAM starts at byte `RAM_BASE` of the
// buffer; the public views `u8`/`u16`/`i32` cover RAM only (index = physical
// address), so nothing outside the CPU and the TLB sees the state region,
// and no guest physical address reaches it.
//
// The buffer is a WebAssembly.Memory's where the host has WebAssembly
// (jit/wasm-loop.ts: compiled loops address the same bytes), a plain
// ArrayBuffer otherwise. After RAM it holds the JIT's code-page marks
// (`codePages`, one byte per page of state region and RAM), so that a
// compiled loop's stores can test them as the JavaScript translations do.
// Heap index 16–23 is scratch for those loops (`SCRATCH`).
//
// A monitor may reserve the top of RAM for itself (`reserveTop`): the guest's
// own translations (paging off, or its page tables) then see `guestLimit`
// bytes and get a bus error above; only translations a monitor supplies may
// point into the reserved part.
//
// Beside the buffer, a host-only record of the 64 KiB chunks of RAM that may
// have been written (`written`), so that recycling a buffer for the next
// machine (`recycle`) compares and clears those alone; and, for a host that
// tracks writes to some frames (write-tracking.ts), which of them the memory
// API wrote (`track`).

export const DEFAULT_RAM_SIZE = 64 * 1024 * 1024;
export const PAGE_SIZE = 4096;
/** A frame's state in PhysicalMemory.track (host-only write tracking). */
export const TRACK = { OFF: 0, CLEAN: 1, WRITTEN: 2 } as const;
/**
 * Bytes of CPU state before RAM in the buffer (registers, tlb.ts tags, cpu.ts tables, and the
 * fast arrays of one TLB per further CPU of a multiprocessor, 20 KiB each): `allocState` checks it suffices.
 */
export const RAM_BASE = 192 * 1024;

/** The host's WebAssembly API, as far as the machine uses it (the compiler's library declares none). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
export interface WasmHost {
  Memory: new (d: { initial: number; maximum: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
/** The host's WebAssembly, if it has one. */
export const wasmHost = (globalThis as unknown as { WebAssembly?: WasmHost }).WebAssembly;

/** heap32 index of the 8 scratch words a compiled loop returns its state in (jit/wasm-loop.ts); right after the registers. */
export const SCRATCH = 16;
/** Bytes of a WebAssembly page. */
const WASM_PAGE = 65536;

/**
 * Buffers of recycled memories (PhysicalMemory.recycle), zeroed, by byte
 * length: a process that runs many short guests (`previrt bench`: 126 runs)
 * reuses them instead of allocating 64 MiB each run, which made V8 collect
 * garbage at every run ("external memory pressure"). The WebAssembly.Memory
 * is recycled with its buffer (a Memory's buffer stays the same while it does not grow).
 */
const spareBuffers = new Map<number, { buffer: ArrayBuffer; wasm: WasmMemory | undefined }[]>();
/** The WebAssembly.Memory of each buffer allocated as one (jit/wasm-loop.ts instantiates loops over it). */
const wasmMemories = new WeakMap<ArrayBuffer, WasmMemory>();
/** The WebAssembly.Memory whose buffer `buffer` is, if any. */
export function wasmMemoryOf(buffer: ArrayBufferLike): WasmMemory | undefined {
  return wasmMemories.get(buffer as ArrayBuffer);
}
/**
 * Host switches, for tests. `wasm`: allocate new memories as WebAssembly
 * memories where the host has them (off: plain ArrayBuffers, no compiled loops
 * on them). `verifyWritten`: `recycle` checks the written-chunk record
 * (`PhysicalMemory.written`) against the bytes — every nonzero byte of RAM
 * must lie in a recorded chunk or the reserved top — and throws where one
 * does not (a write path that does not mark); new memories are listed for
 * `takeLiveMemories`; and a spare buffer must still be zero where its recycle
 * zeroed it (verifyStillZero) when it is handed out, dropped from the spares,
 * or checked with `verifySpares`: nothing wrote through a recycled memory.
 */
export const memoryOptions = { wasm: true, verifyWritten: false };

/**
 * A recycled buffer for a heap of `heapBytes`, or undefined. With
 * `memoryOptions.wasm` off, only a plain one: a WebAssembly.Memory's buffer
 * would give the machine compiled loops the switch is there to keep out.
 */
function takeSpare(heapBytes: number): { buffer: ArrayBuffer; wasm: WasmMemory | undefined } | undefined {
  const list = spareBuffers.get(heapBytes);
  if (!list) return undefined;
  let i = list.length - 1;
  if (!memoryOptions.wasm) while (i >= 0 && list[i].wasm !== undefined) i--;
  if (i < 0) return undefined;
  const spare = list.splice(i, 1)[0];
  if (memoryOptions.verifyWritten) verifyStillZero(spare.buffer, heapBytes);
  return spare;
}

/** With `memoryOptions.verifyWritten`: checks every spare buffer kept now (verifyStillZero); the tests call it after each file. */
export function verifySpares(): void {
  for (const [heapBytes, list] of spareBuffers) for (const spare of list) verifyStillZero(spare.buffer, heapBytes);
}

/**
 * Throws if a spare buffer's state region or code-page marks (zeroed by its recycle) are no longer zero: a machine
 * wrote through a memory after it was recycled — its registers, TLB tags, translations' marks — which the next
 * machine would inherit. Cheap (~200 KiB natively compared), so while the tests verify it runs on every spare
 * buffer as it is handed out, dropped from the spares (recycle) or left at the end of a test file (verifySpares);
 * RAM itself is not scanned (64 MiB a buffer).
 */
function verifyStillZero(buffer: ArrayBuffer, heapBytes: number): void {
  const all = new Uint8Array(buffer);
  for (const [from, to] of [[0, RAM_BASE], [heapBytes, all.length]]) {
    const region = all.subarray(from, to);
    if (!isZero(region)) {
      const at = from + region.findIndex((b) => b !== 0);
      throw new Error(`memory: a recycled buffer was written after its recycle (byte 0x${at.toString(16)} of the ${from === 0 ? "state region" : "code-page marks"}): something still used a machine it had given back`);
    }
  }
}

/** A zeroed buffer of at least `bytes` bytes: a WebAssembly.Memory's (whole 64 KiB pages) where possible. */
function allocate(bytes: number): { buffer: ArrayBuffer; wasm: WasmMemory | undefined } {
  const W = wasmHost;
  if (memoryOptions.wasm && W !== undefined) {
    const pages = Math.ceil(bytes / WASM_PAGE);
    try {
      // Reserved address space, committed lazily by the OS as a plain ArrayBuffer is.
      const wasm = new W.Memory({ initial: pages, maximum: pages });
      wasmMemories.set(wasm.buffer, wasm);
      return { buffer: wasm.buffer, wasm };
    } catch {
      // Out of address space for another Memory (many machines alive at once): a plain buffer.
    }
  }
  return { buffer: new ArrayBuffer(bytes), wasm: undefined };
}
const SPARE_BUFFERS_KEPT = 2;
/** The host's native byte compare (Node's Buffer.compare), when there is one. */
const nativeCompare = (globalThis as { Buffer?: { compare(a: Uint8Array, b: Uint8Array): number } }).Buffer?.compare;
/**
 * log2 of the bytes of RAM one entry of `PhysicalMemory.written` stands for
 * (64 KiB): also the piece recycling compares with zero at a time (few calls;
 * clearing a piece is cheap).
 */
export const WRITTEN_SHIFT = 16;
const ZERO_CHUNK = new Uint8Array(1 << WRITTEN_SHIFT);
/** Memories made while `memoryOptions.verifyWritten` was on and not yet taken (`takeLiveMemories`); weak, so none outlives its machine. */
let liveMemories: WeakRef<PhysicalMemory>[] = [];

/** Whether every byte of `bytes` is zero (natively where the host compares natively). */
function isZero(bytes: Uint8Array): boolean {
  for (let o = 0; o < bytes.length; o += ZERO_CHUNK.length) {
    const piece = bytes.subarray(o, o + ZERO_CHUNK.length);
    if (nativeCompare ? nativeCompare(piece, ZERO_CHUNK.subarray(0, piece.length)) !== 0 : piece.some((b) => b !== 0)) return false;
  }
  return true;
}

/** Zeroes `bytes` piece by piece, writing only the pieces that are not zero already (untouched pages stay uncommitted). */
function clearNonzero(bytes: Uint8Array): void {
  for (let o = 0; o < bytes.length; o += ZERO_CHUNK.length) {
    const piece = bytes.subarray(o, o + ZERO_CHUNK.length);
    if (!isZero(piece)) piece.fill(0);
  }
}

/**
 * With `memoryOptions.verifyWritten`: the memories made since the last call
 * that are still alive, for the caller to verify (`verifyWritten`); forgotten
 * here. The test suite takes them after each test.
 */
export function takeLiveMemories(): PhysicalMemory[] {
  const list = liveMemories;
  liveMemories = [];
  // A recycled memory was checked then; its buffer may be another machine's now.
  return list.map((ref) => ref.deref()).filter((m): m is PhysicalMemory => m !== undefined && !m.isRecycled);
}

export class PhysicalMemory {
  readonly buffer: ArrayBuffer;
  /** The WebAssembly.Memory `buffer` belongs to, when it was allocated as one. */
  readonly wasm: WasmMemory | undefined;
  /**
   * The JIT's code-page marks (jit/cache.ts), one byte per heap page (state region and RAM):
   * in the buffer after RAM, so compiled loops (jit/wasm-loop.ts) read them too.
   */
  readonly codePages: Uint8Array;
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly i32: Int32Array;
  /** Views over the whole buffer, state region and RAM, for the interpreter's hot loop (RAM at byte RAM_BASE). */
  readonly heap32: Int32Array;
  readonly heap16: Uint16Array;
  readonly heap8: Uint8Array;
  readonly size: number;
  /** Whether `recycle` was called: the buffer may be another memory's now. */
  private recycled = false;
  get isRecycled(): boolean {
    return this.recycled;
  }
  /** The CPU's r0–r15, at heap32[0..15]. */
  readonly regs: Int32Array;
  /** Next free byte of the state region. */
  private stateNext = 0;
  /** First byte the guest cannot address itself (= size unless a monitor reserved the top). */
  guestLimit: number;
  /**
   * While the machine logs dirty pages (live migration): per frame, set by
   * every write through this API (DMA, monitors). The CPU's own stores are
   * caught by write protection instead (machine-snapshot.ts startDirtyLog).
   */
  dirty: Uint8Array | undefined;
  /**
   * Once a host tracks writes to some frames (machine.trackWrites, write-tracking.ts): per
   * frame, TRACK.OFF, TRACK.CLEAN (tracked, not written since the host last took its writes) or
   * TRACK.WRITTEN; a frame going CLEAN → WRITTEN is appended to `trackedWritten`. Set by every
   * write through this API, and by the machine for a CPU store (caught by write protection).
   * Host-only: nothing simulated reads it.
   */
  track: Uint8Array | undefined;
  readonly trackedWritten: number[] = [];
  /**
   * Per 64 KiB chunk of RAM (`WRITTEN_SHIFT`): 1 once anything may have
   * written it since the buffer was zeroed — host-only, never reset while
   * the memory lives, read only by `recycle` (which then compares and clears
   * just these chunks, not all of RAM). Every path that writes RAM marks it
   * or writes where recycling always looks: the memory API (`write*`,
   * `writeBytes`, `markWritten` for direct view writes) and the TLB when it
   * fills an entry with write permission (mmu/tlb.ts fill): every CPU store
   * goes through such an entry — the fast tags of the interpreter, the
   * translations and the WebAssembly loops, cpu.ts checkedAccess, and the
   * store slow path (`Tlb.hit`, or Mmu.translate's fill and permission check;
   * a watched frame's hook then writes at that address). Always compared instead: the state region before RAM, the
   * code-page marks after it and a monitor's reserved top (`reserveTop`: the
   * in-place VMM's window, which its monitor writes through views).
   * `memoryOptions.verifyWritten` checks the record (the tests turn it on).
   */
  readonly written: Uint8Array;
  /**
   * The memory-mapped device window, [base, end) physical, above RAM (the
   * machine sets it when a device is attached: devices/nvdisk.ts); empty
   * otherwise. Page walks and translations may name its frames; nothing
   * here reads or writes them (the machine's MMIO slow path does).
   */
  deviceBase = 0;
  deviceEnd = 0;

  constructor(size = DEFAULT_RAM_SIZE) {
    if (!Number.isInteger(size) || size <= 0 || size % PAGE_SIZE !== 0 || size > 0x8000_0000) {
      throw new RangeError(`RAM size must be a positive multiple of ${PAGE_SIZE} up to 2 GiB, got ${size}`);
    }
    // Lazily committed by the OS: untouched pages cost no resident memory. Or a recycled buffer, all zero again.
    const heapBytes = RAM_BASE + size;
    const marks = heapBytes / PAGE_SIZE;
    const got = takeSpare(heapBytes) ?? allocate(heapBytes + marks);
    this.buffer = got.buffer;
    this.wasm = got.wasm;
    this.u8 = new Uint8Array(this.buffer, RAM_BASE, size);
    this.u16 = new Uint16Array(this.buffer, RAM_BASE, size >>> 1);
    this.i32 = new Int32Array(this.buffer, RAM_BASE, size >>> 2);
    this.heap8 = new Uint8Array(this.buffer, 0, heapBytes);
    this.heap16 = new Uint16Array(this.buffer, 0, heapBytes >>> 1);
    this.heap32 = new Int32Array(this.buffer, 0, heapBytes >>> 2);
    this.codePages = new Uint8Array(this.buffer, heapBytes, marks);
    this.size = size;
    this.regs = this.allocState(16);
    this.allocState(8); // SCRATCH

    this.guestLimit = size;
    this.written = new Uint8Array(Math.ceil(size / ZERO_CHUNK.length));
    if (memoryOptions.verifyWritten) liveMemories.push(new WeakRef(this));
  }

  /** Records that [pa, pa+len) may have been written (a direct write through a view; the memory API records its own). */
  markWritten(pa: number, len = 1): void {
    const last = (pa + len - 1) >>> WRITTEN_SHIFT;
    for (let c = pa >>> WRITTEN_SHIFT; c <= last; c++) this.written[c] = 1;
  }

  /** Whether chunk `c` of RAM may hold a nonzero byte: it is recorded, or it holds (part of) the reserved top, which its monitor writes through views. */
  private chunkMayHoldData(c: number): boolean {
    return this.written[c] === 1 || c >= this.guestLimit >>> WRITTEN_SHIFT;
  }

  /** Chunk `c` of RAM (the last one may be short). */
  private chunk(c: number): Uint8Array {
    return this.u8.subarray(c << WRITTEN_SHIFT, (c + 1) << WRITTEN_SHIFT);
  }

  /** Whether page frame `frame` may hold a nonzero byte (chunkMayHoldData of its chunk). */
  mayHoldData(frame: number): boolean {
    return this.chunkMayHoldData(frame >>> (WRITTEN_SHIFT - 12));
  }

  /**
   * The first RAM address holding a nonzero byte outside every recorded chunk
   * and the reserved top — a write no path recorded — or -1 (none).
   */
  unrecordedWrite(): number {
    for (let c = 0; c < this.written.length; c++) {
      if (this.chunkMayHoldData(c)) continue;
      const chunk = this.chunk(c);
      if (!isZero(chunk)) return (c << WRITTEN_SHIFT) + chunk.findIndex((b) => b !== 0);
    }
    return -1;
  }

  /** Throws where `unrecordedWrite` finds a write the record missed. */
  verifyWritten(): void {
    const pa = this.unrecordedWrite();
    if (pa >= 0) throw new Error(`memory: nonzero byte at physical 0x${pa.toString(16)} in a chunk no write path recorded (PhysicalMemory.written)`);
  }

  /**
   * Hands the buffer back for the next PhysicalMemory of the same size, with
   * every byte zeroed (what `written` says may be nonzero compared with zero
   * natively in 64 KiB pieces, the nonzero ones cleared): a fresh memory is all zero either way. The caller promises that
   * nothing uses this memory, its machine or its views again. Only where the
   * host compares bytes natively (Node); elsewhere a no-op.
   */
  recycle(): void {
    // Once only: a second call would check (and hand back) a buffer that may be another machine's by then.
    if (this.recycled) return;
    if (memoryOptions.verifyWritten) this.verifyWritten();
    this.recycled = true;
    if (!nativeCompare) return;
    const key = this.heap8.length;
    let list = spareBuffers.get(key);
    if (!list) spareBuffers.set(key, (list = []));
    if (list.some((b) => b.buffer === this.buffer)) return;
    if (list.length >= SPARE_BUFFERS_KEPT) {
      if (!memoryOptions.verifyWritten) return;
      // While verifying, the newest is kept and the oldest checked as it goes, so that every recycled buffer is
      // checked for writes after its recycle (verifyStillZero) — when it is handed out again or when it leaves.
      verifyStillZero(list.shift()!.buffer, key);
    }
    // Only what may be nonzero: the state region, the chunks of RAM that may hold data (chunkMayHoldData),
    // and after RAM the code-page marks. Untouched RAM is zero already.
    const all = new Uint8Array(this.buffer);
    clearNonzero(all.subarray(0, RAM_BASE));
    for (let c = 0; c < this.written.length; c++) if (this.chunkMayHoldData(c)) clearNonzero(this.chunk(c));
    clearNonzero(all.subarray(RAM_BASE + this.size));
    list.push({ buffer: this.buffer, wasm: this.wasm });
  }

  /** `words` int32s of CPU state before RAM, as a view; its index in `heap32` is `view.byteOffset >> 2`. */
  allocState(words: number): Int32Array {
    if (this.stateNext + words * 4 > RAM_BASE) throw new Error(`memory: CPU state region exhausted (${words} words more)`);
    const v = new Int32Array(this.buffer, this.stateNext, words);
    this.stateNext += words * 4;
    return v;
  }

  /** Reserves `bytes` (rounded up to pages) at the top of RAM; returns the physical base. */
  reserveTop(bytes: number): number {
    const rounded = Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
    if (rounded >= this.guestLimit) throw new RangeError(`cannot reserve ${bytes} bytes of ${this.guestLimit}`);
    this.guestLimit -= rounded;
    return this.guestLimit;
  }

  /** Whether physical `pa` lies in the device window (docs/machine.md "MMIO"). */
  isDevice(pa: number): boolean {
    const p = pa >>> 0;
    return p >= this.deviceBase && p < this.deviceEnd;
  }

  /** Whether [pa, pa+len) lies in RAM. */
  contains(pa: number, len = 1): boolean {
    return pa >= 0 && pa + len <= this.size;
  }

  read32(pa: number): number {
    this.check(pa, 4);
    return pa & 3 ? new DataView(this.buffer).getInt32(RAM_BASE + pa, true) : this.i32[pa >>> 2];
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
    this.markWritten(pa, 4);
    if (this.dirty) this.markDirty(pa, 4);
    if (this.track) this.markTracked(pa, 4);
    if (pa & 3) new DataView(this.buffer).setInt32(RAM_BASE + pa, v, true);
    else this.i32[pa >>> 2] = v;
  }
  write16(pa: number, v: number): void {
    this.check(pa, 2);
    this.markWritten(pa, 2);
    if (this.dirty) this.markDirty(pa, 2);
    if (this.track) this.markTracked(pa, 2);
    this.u8[pa] = v;
    this.u8[pa + 1] = v >>> 8;
  }
  write8(pa: number, v: number): void {
    this.check(pa, 1);
    this.markWritten(pa, 1);
    if (this.dirty) this.markDirty(pa, 1);
    if (this.track) this.markTracked(pa, 1);
    this.u8[pa] = v;
  }
  /** Copies bytes in (the loader, the disk's DMA, monitors). */
  writeBytes(pa: number, bytes: Uint8Array): void {
    this.check(pa, bytes.length);
    if (bytes.length > 0) this.markWritten(pa, bytes.length);
    if (this.dirty) this.markDirty(pa, bytes.length);
    if (this.track && bytes.length > 0) this.markTracked(pa, bytes.length);
    this.u8.set(bytes, pa);
  }

  /** Marks the tracked frames among those [pa, pa+len) touches written (see `track`). */
  markTracked(pa: number, len: number): void {
    const track = this.track!;
    for (let f = pa >>> 12; f <= (pa + len - 1) >>> 12; f++) {
      if (track[f] !== TRACK.CLEAN) continue;
      track[f] = TRACK.WRITTEN;
      this.trackedWritten.push(f);
    }
  }

  private markDirty(pa: number, len: number): void {
    for (let f = pa >>> 12; f <= (pa + len - 1) >>> 12; f++) this.dirty![f] = 1;
  }
  readBytes(pa: number, len: number): Uint8Array {
    this.check(pa, len);
    return this.u8.slice(pa, pa + len);
  }

  private check(pa: number, len: number): void {
    if (!this.contains(pa, len)) throw new RangeError(`physical access 0x${(pa >>> 0).toString(16)}+${len} outside RAM`);
  }
}
