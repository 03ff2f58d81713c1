// Checks shared by the campaigns that decide "wrong" (a front door accepted
// something and then behaved incorrectly): an image must survive writeElf →
// readElf unchanged; a run must end in a result; the in-place VMM's read-only
// part of the soft-layer window must hold after a run exactly what was loaded;
// and the words of the first field where two of a campaign's observations
// differ (protection, nvdisk).

import { readElf, writeElf } from "../../../src/guest-isa/elf.js";
import { SHF_WRITE, type ElfImage } from "../../../src/guest-isa/elf-types.js";
import { UserError } from "../../../src/guest-isa/diagnostics.js";
import { buildVmm, WINDOW_BACKED, WINDOW_BACKED_BYTES } from "../../../src/hypervisors/common/window.js";
import type { RunElfOutcome } from "../../../src/hypervisors/index.js";
import type { RunResult } from "../../../src/machine/diagnosis.js";
import type { PhysicalMemory } from "../../../src/machine/memory.js";
import type { RewriteResult } from "../../../src/rewriter/index.js";

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;

/** What differs between two images (undefined: nothing). */
export function imageDifference(a: ElfImage, b: ElfImage): string | undefined {
  if (a.entry >>> 0 !== b.entry >>> 0) return `entry 0x${a.entry.toString(16)} became 0x${b.entry.toString(16)}`;
  if (a.sections.length !== b.sections.length) return `${a.sections.length} sections became ${b.sections.length}`;
  for (let i = 0; i < a.sections.length; i++) {
    const s = a.sections[i], t = b.sections[i];
    for (const k of ["name", "type", "flags", "addr", "size", "align"] as const) {
      if (s[k] !== t[k]) return `section ${s.name}: ${k} ${String(s[k])} became ${String(t[k])}`;
    }
    if (!sameBytes(s.data, t.data)) return `section ${s.name}: contents changed`;
  }
  // .symtab order is locals first (ELF's rule), then globals, each in their original order.
  const ordered = (img: ElfImage) => JSON.stringify([...img.symbols.filter((s) => !s.global), ...img.symbols.filter((s) => s.global)]);
  if (ordered(a) !== ordered(b)) return "symbols changed";
  return undefined;
}

/** writeElf(image) must be readable again and give the same image; a message when not. */
export function roundTripProblem(image: ElfImage): string | undefined {
  let bytes: Uint8Array;
  try {
    bytes = writeElf(image);
  } catch (e) {
    if (e instanceof UserError) return undefined; // writeElf refusing an image is a clean refusal of that image
    throw e;
  }
  let again: ElfImage;
  try {
    again = readElf(bytes);
  } catch (e) {
    if (e instanceof UserError) return `readElf refuses what writeElf wrote: ${e.message}`;
    throw e;
  }
  const d = imageDifference(image, again);
  return d && `writeElf → readElf changed the image: ${d}`;
}

/** A run ended with power-off, or stopped with a diagnosis; a message otherwise. */
export function endingProblem(out: RunElfOutcome): string | undefined {
  return endingOf(out.result);
}

/** The same for one machine's result (a domain of the multi-guest host). */
export function endingOf(r: RunResult): string | undefined {
  if (r.kind === "poweroff") return undefined;
  if (r.kind === "stopped" && r.diagnosis.length > 0) return undefined;
  return `the run ended without a diagnosis: ${JSON.stringify(r).slice(0, 120)}`;
}

/**
 * On xen and l4: the in-place VMM's read-only pages (its code and the
 * rewriter's stubs) must be unchanged after the run — the guest cannot write
 * them, directly or through the monitor. Also the reservation itself.
 */
export function windowProblem(out: RunElfOutcome, backend: string): string | undefined {
  return windowBytesProblem(out.machine.memory, out.rewrite.stubs, backend);
}

/** The same check on one machine's memory, given the stubs its rewrite installed. */
export function windowBytesProblem(mem: PhysicalMemory, stubs: RewriteResult["stubs"], backend: string): string | undefined {
  if (backend !== "xen" && backend !== "l4") return undefined;
  const windowPa = mem.size - WINDOW_BACKED_BYTES;
  if (mem.guestLimit !== windowPa) return `the monitor's reservation moved: guest limit 0x${mem.guestLimit.toString(16)}`;
  const vmm = buildVmm(backend);
  for (const sec of vmm.image.sections) {
    if (sec.addr < WINDOW_BACKED || !sec.data.length || sec.flags & SHF_WRITE) continue;
    const at = windowPa + (sec.addr - WINDOW_BACKED);
    if (!sameBytes(mem.u8.subarray(at, at + sec.data.length), sec.data)) {
      let i = 0;
      while (mem.u8[at + i] === sec.data[i]) i++;
      return `${backend}: the in-place VMM's read-only ${sec.name} changed at 0x${(sec.addr + i).toString(16)} (window escape)`;
    }
  }
  for (const stub of stubs) {
    const bytes = new Uint8Array(stub.words.buffer, stub.words.byteOffset, stub.words.byteLength);
    const at = windowPa + (stub.addr - WINDOW_BACKED);
    if (!sameBytes(mem.u8.subarray(at, at + bytes.length), bytes)) return `${backend}: the stub at 0x${stub.addr.toString(16)} changed (window escape)`;
  }
  return undefined;
}

/** How `difference` words what differs (protection's defaults; nvdisk names a word's address and a disk byte). */
export interface DifferenceStyle {
  /** The message for element `i` of array field `key` (the first that differs), or undefined for `${key}[${i}] ${got} instead of ${want}`. */
  element?: (key: string, i: number, want: number, got: number) => string | undefined;
  /** After a field's name in the message for any other field (default " "), and the characters of each value shown (default 80). */
  separator?: string;
  width?: number;
}

/**
 * The first field where two observations (JSON objects with the same keys, in
 * the order worth reporting) differ, briefly; "the same" when none does.
 */
export function difference(want: string, got: string, style: DifferenceStyle = {}): string {
  const a = JSON.parse(want) as Record<string, unknown>, b = JSON.parse(got) as Record<string, unknown>;
  const { separator = " ", width = 80 } = style;
  for (const k of Object.keys(a)) {
    const x = a[k], y = b[k];
    if (JSON.stringify(x) === JSON.stringify(y)) continue;
    if (Array.isArray(x) && Array.isArray(y)) {
      const found = x.findIndex((v, j) => v !== y[j]);
      const i = found >= 0 ? found : x.length; // the same start, `got` longer: its first extra element
      return style.element?.(k, i, x[i] as number, y[i] as number) ?? `${k}[${i}] ${y[i]} instead of ${x[i]}`;
    }
    return `${k}${separator}${JSON.stringify(y).slice(0, width)} instead of ${JSON.stringify(x).slice(0, width)}`;
  }
  return "the same";
}
