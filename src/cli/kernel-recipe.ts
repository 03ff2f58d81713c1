// The bundled guest kernel's recipe (fixtures/kernel, docs/kernel.md), from
// sources handed in as text, so it runs wherever the toolchain does: the CLI
// (bundled-kernel.ts reads the package's files) and the playground's worker
// (src/web, the files bundled as strings). No Node API here.
//
//   1. each user program (fixtures/kernel/user: crt0.s + ulib.ts + PROGRAM.ts)
//      is compiled and linked on its own at USER_BASE, NOT annotated — it
//      runs in user mode, where a sensitive instruction would be a bug;
//   2. the linked programs become one generated assembly file of `.word`s,
//      a small header per program (entry, address, file size, memory size,
//      name) and a table of them (`uprog_table_addr`, `uprog_count`);
//   3. the kernel (entry.s, kernel.ts, mm.ts, disk.ts, kprint.ts, and the
//      multi-guest block path domain.ts, blkfront.ts, blkback.ts) and that file are
//      built like `previrt build` does — compiled, annotated (unless
//      `annotate: false`), assembled — with -D WORKLOAD, SCALE, TIMER_PERIOD,
//      CPUS (the most CPUs it starts; it runs on min(CPUS, the machine's)).
//      The compile is shared by every workload and scale (and between a
//      parallel bench's threads: compileKernelFrom, adoptCompiledKernelFrom),
//      and so is the assembly: the defines reach the kernel only as four words, written
//      into a copy of the image assembled first (assembledKernel).
//
// buildKernelFrom(sources, { workload }) → ElfImage. By hand: `previrt kernel -o k.elf
// --workload mixed` (src/cli/commands/kernel.ts), or the steps in docs/kernel.md.

import { toInputPositions } from "../annotator/build-pass.js";
import { withStartup } from "./build-assembly.js";
import { buildCompiled, compileSources, prepareAssembly } from "./build-pipeline.js";
import { paravirtEpilogue } from "../compiler/paravirt.js";
import { paravirtTarget } from "../hypervisors/paravirt.js";
import type { AsmSource } from "../compiler/startup.js";
import { assemble } from "../guest-isa/assembler/index.js";
import type { Expr, Operand } from "../guest-isa/assembler/ast.js";
import { someNode } from "../guest-isa/assembler/expressions.js";
import { parseAssembly } from "../guest-isa/assembler/parser.js";
import { UserError } from "../guest-isa/diagnostics.js";
import { SHF_ALLOC, SHT_NOBITS, type ElfImage } from "../guest-isa/elf-types.js";

import { WORKLOADS, type Workload } from "./workloads.js";

export { WORKLOADS, type Workload };

/** The embedded user programs, in the order the kernel numbers them (kernel.ts PROG_*). */
export const USER_PROGRAMS = ["syscall", "ctxsw", "pagetable", "io", "compute", "faults", "smp"] as const;

/** Where user programs are linked (and mapped): the bottom of user space. */
export const USER_BASE = 0x00800000;
/**
 * Default timer period in cycles (250 µs at 2 GHz). A tick that preempts costs a
 * context switch, which under shadow paging (hvm) refills every shadow entry:
 * below ~50,000 cycles hvm spends whole periods switching (an interrupt storm).
 */
export const DEFAULT_TIMER_PERIOD = 500_000;
/** Bytes of disk the io workload needs at `scale` (instance i uses 8 × scale sectors from 2048 × i). */
export const kernelDiskBytes = (scale = 1) => 512 * (2048 + 8 * scale);

export interface KernelBuildOptions {
  /** Which workload the kernel starts (default "mixed"). */
  workload?: Workload;
  /** Annotate the kernel (default true); false gives a plain binary (bare metal, hvm, trap only). */
  annotate?: boolean;
  /** A para-virtualized build for this hypervisor (`--paravirt xen`), passed to the compiler. */
  paravirt?: string;
  /** Multiplies every workload's iterations (default 1: the small size the tests use). */
  scale?: number;
  /** Timer period in cycles (default DEFAULT_TIMER_PERIOD). */
  timerPeriod?: number;
  /** The most CPUs the kernel uses, 1–MAX_KERNEL_CPUS (default: all; it uses min(this, the machine's CPU count)). */
  cpus?: number;
  /**
   * Make this build from an earlier one of the same kernel that differs only
   * in the defines, by writing their words (default true; the same bytes —
   * assembledKernel). false assembles it from its sources, as tests do to
   * prove that.
   */
  reuseAssembly?: boolean;
}

/** CPUs the bundled kernel can run on (the machine's maximum). */
export const MAX_KERNEL_CPUS = 8;

/** The kernel's own source files (fixtures/kernel), in build order. */
export const KERNEL_FILES = ["entry.s", "kernel.ts", "mm.ts", "disk.ts", "nvdisk.ts", "kprint.ts", "domain.ts", "blkfront.ts", "blkback.ts", "ticketlock.ts", "ticketlock.s"] as const;
const USER_LIB = ["crt0.s", "ulib.ts"];

/**
 * Where the kernel's sources come from: the text of a file under
 * fixtures/kernel, by its path there ("kernel.ts", "user/crt0.s"). The CLI
 * reads the package's files (bundled-kernel.ts); the playground's worker has
 * them bundled as strings.
 */
export type KernelSources = (path: string) => string;

function readSources(sources: KernelSources, dir: string, names: readonly string[]): AsmSource[] {
  return names.map((n) => ({ file: `fixtures/kernel/${dir}${n}`, text: sources(`${dir}${n}`) }));
}

/** Compiles and links one user program at USER_BASE, without annotation. */
export function buildUserProgramFrom(sources: KernelSources, name: (typeof USER_PROGRAMS)[number]): ElfImage {
  const inputs = readSources(sources, "user/", [...USER_LIB, `${name}.ts`]);
  const { assembly } = compileSources(inputs);
  const prepared = prepareAssembly(assembly, { annotate: false });
  let image: ElfImage;
  try {
    // textBase: the assembler's base-address option (AssembleOptions.textBase).
    const options: Parameters<typeof assemble>[1] & { textBase?: number } = { textBase: USER_BASE };
    image = assemble(prepared, options);
  } catch (e) {
    throw toInputPositions(prepared, e);
  }
  const text = image.sections.find((s) => s.name === ".text");
  if (!text || text.addr !== USER_BASE) {
    throw new UserError(`user program ${name} was linked at 0x${(text?.addr ?? 0).toString(16)}, not 0x${USER_BASE.toString(16)} (the assembler has no textBase option?)`);
  }
  return image;
}

/** One linked program as a flat memory image: its bytes from the lowest section on, and its size in memory. */
export function flattenImage(image: ElfImage): { vaddr: number; bytes: Uint8Array; memsz: number; entry: number } {
  const alloc = image.sections.filter((s) => (s.flags & SHF_ALLOC) !== 0 && (s.type === SHT_NOBITS ? s.size : s.data.length) > 0);
  const vaddr = Math.min(...alloc.map((s) => s.addr));
  const memEnd = Math.max(...alloc.map((s) => s.addr + (s.type === SHT_NOBITS ? s.size : s.data.length)));
  const fileEnd = Math.max(...alloc.filter((s) => s.type !== SHT_NOBITS).map((s) => s.addr + s.data.length));
  const bytes = new Uint8Array(Math.ceil((fileEnd - vaddr) / 4) * 4);
  for (const s of alloc) if (s.type !== SHT_NOBITS) bytes.set(s.data, s.addr - vaddr);
  return { vaddr, bytes, memsz: memEnd - vaddr, entry: image.entry };
}

/** The generated assembly embedding every user program (built once per source of sources). */
const userProgramsAsm = new WeakMap<KernelSources, string>();
const USER_PROGRAMS_FILE = "<user-programs>.s";

export function userProgramsSourceFrom(sources: KernelSources): AsmSource {
  let text = userProgramsAsm.get(sources);
  if (text === undefined) {
    text = embedPrograms(USER_PROGRAMS.map((name) => ({ name, ...flattenImage(buildUserProgramFrom(sources, name)) })));
    userProgramsAsm.set(sources, text);
  }
  return { file: USER_PROGRAMS_FILE, text };
}

/**
 * Takes `text`, userProgramsSourceFrom()'s text built from the same sources
 * in another thread, as this thread's, so that it is not built twice (a
 * parallel `previrt bench`'s workers, issue 16). Ignored when this thread
 * already has its own.
 */
export function adoptUserProgramsFrom(sources: KernelSources, text: string): void {
  if (!userProgramsAsm.has(sources)) userProgramsAsm.set(sources, text);
}

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

/** Assembly: per program a header (entry, vaddr, filesz, memsz, name) and its bytes; then the table. */
export function embedPrograms(programs: readonly { name: string; vaddr: number; bytes: Uint8Array; memsz: number; entry: number }[]): string {
  const out = [
    "# Generated by src/cli/bundled-kernel.ts: the bundled kernel's user programs,",
    "# each linked at its user address, not annotated. Header words: entry,",
    "# vaddr, filesz, memsz, name; then filesz bytes.",
    "    .rodata",
    "    .align 4",
  ];
  programs.forEach((p, i) => {
    out.push(`uprog_${i}:    # ${p.name}`, `    .word ${hex(p.entry)}, ${hex(p.vaddr)}, ${p.bytes.length}, ${p.memsz}, uprog_name_${i}`);
    const words = new DataView(p.bytes.buffer, p.bytes.byteOffset, p.bytes.length);
    for (let o = 0; o < p.bytes.length; o += 32) {
      const row: string[] = [];
      for (let k = o; k < Math.min(o + 32, p.bytes.length); k += 4) row.push(hex(words.getUint32(k, true)));
      out.push(`    .word ${row.join(", ")}`);
    }
  });
  out.push("uprog_table:");
  programs.forEach((_, i) => out.push(`    .word uprog_${i}`));
  programs.forEach((p, i) => out.push(`uprog_name_${i}: .asciz "${p.name}"`));
  out.push("    .align 4", "    .global uprog_table_addr", "uprog_table_addr: .word uprog_table", "    .global uprog_count", `uprog_count: .word ${programs.length}`, "");
  return out.join("\n");
}

export interface KernelBuild {
  image: ElfImage;
  /** The assembly that was assembled (annotated unless annotate: false). */
  assembly: AsmSource[];
  defines: Record<string, number>;
}

/** Builds the bundled kernel for one workload: user programs embedded, kernel annotated by default. */
export function buildKernelFrom(sources: KernelSources, options: KernelBuildOptions = {}): KernelBuild {
  const workload = options.workload ?? "mixed";
  const index = WORKLOADS.indexOf(workload);
  if (index < 0) throw new UserError(`unknown workload '${workload}' (valid: ${WORKLOADS.join(", ")})`);
  const scale = options.scale ?? 1;
  if (!Number.isInteger(scale) || scale < 1 || scale > 1000) throw new UserError(`--scale must be an integer from 1 to 1000, not ${scale}`);
  // A .word in the kernel, written to the timer's period port (0 stops the timer): a larger value would wrap.
  const timerPeriod = options.timerPeriod ?? DEFAULT_TIMER_PERIOD;
  if (!Number.isInteger(timerPeriod) || timerPeriod < 0 || timerPeriod > 0xffffffff) throw new UserError(`--timer-period must be an integer from 0 to 4294967295 cycles, not ${timerPeriod}`);
  const cpus = options.cpus ?? MAX_KERNEL_CPUS;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_KERNEL_CPUS) throw new UserError(`--cpus must be an integer from 1 to ${MAX_KERNEL_CPUS}, not ${cpus}`);
  const defines = { WORKLOAD: index, SCALE: scale, TIMER_PERIOD: timerPeriod, CPUS: cpus };
  const build = { defines, annotate: options.annotate ?? true, paravirt: options.paravirt };
  // The compiler reads only the .ts inputs, so the user programs (an .s input, last) join after it.
  const kernel = compiledKernel(sources, options.paravirt);
  const userPrograms = userProgramsSourceFrom(sources);
  const { image, assembly } = options.reuseAssembly === false ? assembleKernel(kernel, userPrograms, build) : assembledKernel(kernel, userPrograms, build);
  return { image, assembly, defines };
}

/**
 * A kernel as assembled once: its image, the sources as assembled, and
 * where each define's value sits in the image (undefined when some define is
 * used other than as a labelled `.word`: then every build assembles).
 */
interface AssembledKernel {
  image: ElfImage;
  assembly: AsmSource[];
  words?: ReadonlyMap<string, readonly ConfigWord[]>;
}

/** A 32-bit word of the image holding a define's value: its section (index) and byte offset there. */
interface ConfigWord {
  section: number;
  offset: number;
}

/**
 * The assembled kernels, per compile (compiledKernel's result), embedded
 * user programs, annotation and para-virtualization. The defines (WORKLOAD,
 * SCALE, TIMER_PERIOD, CPUS) reach the kernel only as the words it reads
 * (entry.s `config_workload: .word WORKLOAD`, …), so a build that differs
 * from an assembled one only in their values is that image with those words
 * written: `previrt bench`, 18 images of 6 workloads, assembles 3 times
 * instead of 18 (issue 16). Checked, not assumed: configWords() proves from
 * the sources that each define appears only as such a word (the assembler
 * has no conditional assembly, so a value can reach the image no other way)
 * and finds the words in the image; test/bench/host-reuse.test.ts checks
 * each stamped image byte for byte against one assembled on its own.
 */
const assembledKernels = new WeakMap<Compiled, { userPrograms: string; byBuild: Map<string, AssembledKernel> }>();

type Compiled = ReturnType<typeof compileSources>;
interface AssemblyBuild {
  defines: Record<string, number>;
  annotate: boolean;
  paravirt?: string;
}

/** Counts of kernels assembled and of kernels made from an assembled one by writing their defines (for tests). */
export const kernelAssemblyCounts = { assembled: 0, stamped: 0 };

function assembledKernel(kernel: Compiled, userPrograms: AsmSource, build: AssemblyBuild): { image: ElfImage; assembly: AsmSource[] } {
  let cached = assembledKernels.get(kernel);
  if (cached?.userPrograms !== userPrograms.text) assembledKernels.set(kernel, (cached = { userPrograms: userPrograms.text, byBuild: new Map() }));
  const key = JSON.stringify([build.annotate, build.paravirt ?? null]);
  const done = cached.byBuild.get(key);
  if (done?.words && sameNames(done.words, build.defines)) {
    kernelAssemblyCounts.stamped++;
    return { image: withWords(done.image, done.words, build.defines), assembly: [...done.assembly] };
  }
  const { image, assembly } = assembleKernel(kernel, userPrograms, build);
  if (!done) {
    const words = configWords(withStartup([...kernel.assembly, userPrograms]), image, build.defines);
    // Kept as the template: a copy, so that a caller changing its image changes no later build.
    cached.byBuild.set(key, { image: withWords(image, new Map(), {}), assembly: [...assembly], words });
  }
  return { image, assembly };
}

/** Assembles the compiled kernel with its user programs (annotated unless `annotate: false`). */
function assembleKernel(kernel: Compiled, userPrograms: AsmSource, build: AssemblyBuild): { image: ElfImage; assembly: AsmSource[] } {
  kernelAssemblyCounts.assembled++;
  const { image, assembly } = buildCompiled([...kernel.assembly, userPrograms], kernel.compiled, build);
  return { image, assembly };
}

const sameNames = (words: ReadonlyMap<string, unknown>, defines: Record<string, number>) => {
  const names = Object.keys(defines);
  return names.length === words.size && names.every((n) => words.has(n));
};

/** A copy of `image` (sections' bytes and symbols copied) with each define's words set to its value in `defines`. */
function withWords(image: ElfImage, words: ReadonlyMap<string, readonly ConfigWord[]>, defines: Record<string, number>): ElfImage {
  const sections = image.sections.map((s) => ({ ...s, data: s.data.slice() }));
  for (const [name, at] of words) {
    for (const w of at) {
      const d = sections[w.section].data;
      new DataView(d.buffer, d.byteOffset, d.byteLength).setInt32(w.offset, defines[name] | 0, true);
    }
  }
  return { entry: image.entry, sections, symbols: image.symbols.map((s) => ({ ...s })) };
}

/**
 * Where the defines' values sit in `image`, assembled from `sources` with
 * `defines`; undefined unless every mention of every define in the sources
 * (as the assembler's parser reads them: comments and strings are not
 * mentions) is the one operand of a `.word` right after a label, that label
 * names exactly one symbol of the image, and its word holds the define's
 * value. The assembler has no conditional assembly and `.word NAME` writes
 * NAME's value at the label, so then the value reaches the image there and
 * nowhere else. Only files whose text names a define are parsed.
 */
function configWords(sources: readonly AsmSource[], image: ElfImage, defines: Record<string, number>): Map<string, ConfigWord[]> | undefined {
  const names = new Set(Object.keys(defines));
  const words = new Map<string, ConfigWord[]>([...names].map((n) => [n, []]));
  for (const { file, text } of sources) {
    if (![...names].some((n) => text.includes(n))) continue;
    const { source, diagnostics } = parseAssembly(file, text);
    if (diagnostics.length > 0) return undefined;
    let label: string | undefined; // the label right before the statement, if any
    for (const st of source.statements) {
      if (st.kind === "label") {
        if (names.has(st.name)) return undefined;
        label = st.name;
        continue;
      }
      const operands = st.kind === "instruction" ? st.operands : st.args;
      if (operands.some((o) => mentions(o, names))) {
        const [only] = operands;
        if (st.kind !== "directive" || st.name !== ".word" || operands.length !== 1 || only.kind !== "expr" || only.expr.kind !== "sym" || label === undefined) return undefined;
        const name = only.expr.name;
        const symbols = image.symbols.filter((sym) => sym.name === label);
        if (symbols.length !== 1 || symbols[0].section === undefined) return undefined;
        const section = image.sections.findIndex((sec) => sec.name === symbols[0].section);
        const data = image.sections[section]?.data;
        const offset = symbols[0].value - (image.sections[section]?.addr ?? 0);
        if (!data || offset < 0 || offset + 4 > data.length) return undefined;
        if (new DataView(data.buffer, data.byteOffset, data.byteLength).getInt32(offset, true) !== (defines[name] | 0)) return undefined;
        words.get(name)!.push({ section, offset });
      }
      label = undefined;
    }
  }
  return words;
}

/** Whether an operand names one of `names` anywhere in its expressions. */
function mentions(o: Operand, names: ReadonlySet<string>): boolean {
  if (o.kind === "expr") return exprMentions(o.expr, names);
  return o.kind === "mem" && o.offset !== undefined && exprMentions(o.offset, names);
}

function exprMentions(e: Expr, names: ReadonlySet<string>): boolean {
  return someNode(e, (node) => node.kind === "sym" && names.has(node.name));
}

/**
 * The kernel's compiled sources, per source of sources and input text (and
 * para-virtualization): the compiler reads neither the workload nor the
 * scale (they are assembler defines), so `previrt bench`, which builds 18
 * kernels, compiles twice per process (issue 16). Keyed by the inputs' full
 * text, so a changed file is compiled again; the last few kept.
 */
const compiledKernels = new WeakMap<KernelSources, Map<string, Compiled>>();
const COMPILED_KERNELS_KEPT = 4;

/** The kernel's own sources for a build (para-virtualized: its trap path), without the user programs. */
function kernelInputs(sources: KernelSources, paravirt: string | undefined): AsmSource[] {
  // A para-virtualized kernel brings its hand-ported trap path (entry-xen.s), as a real port does,
  // with the xen ABI's symbols defined in it (what including the hypervisor's header gives C code).
  const paravirtXen = paravirt === "xen";
  return readSources(sources, "", paravirtXen ? KERNEL_FILES.map((f) => (f === "entry.s" ? "entry-xen.s" : f)) : KERNEL_FILES).map((s) =>
    paravirtXen && s.file.endsWith("/entry-xen.s") ? { ...s, text: s.text + paravirtEpilogue(paravirtTarget("xen").abi, false) } : s,
  );
}

/**
 * A compiled kernel as one thread hands it to another (structured-cloneable):
 * the compile and, as its key, the inputs it was compiled from.
 */
export interface CompiledKernel {
  key: string;
  compiled: Compiled;
}

/** Counts of kernels compiled and of compiles taken from another thread (for tests). */
export const kernelCompileCounts = { compiled: 0, adopted: 0 };

const compiledKernelKey = (paravirt: string | undefined, inputs: readonly AsmSource[]) => JSON.stringify([paravirt ?? null, inputs]);

/**
 * Compiles the kernel for builds with this para-virtualization (or none)
 * ahead of them, without the user programs: a thread can do this while
 * another builds those (a parallel `previrt bench`), and hand the result to
 * it (adoptCompiledKernelFrom).
 */
export function compileKernelFrom(sources: KernelSources, options: Pick<KernelBuildOptions, "paravirt"> = {}): CompiledKernel {
  const inputs = kernelInputs(sources, options.paravirt);
  const key = compiledKernelKey(options.paravirt, inputs);
  return { key, compiled: compiledKernel(sources, options.paravirt, inputs, key) };
}

/**
 * Takes `kernel`, compileKernelFrom()'s result in another thread, as this
 * thread's compile for builds with this para-virtualization, so that the
 * kernel is not compiled twice (a parallel `previrt bench`: one thread
 * compiles both kernels, the second from the first's parsed files, while the
 * other builds the user programs). Only if it was compiled from exactly the
 * inputs this thread reads (else false, and the builds compile their own).
 */
export function adoptCompiledKernelFrom(sources: KernelSources, kernel: CompiledKernel, options: Pick<KernelBuildOptions, "paravirt"> = {}): boolean {
  const key = compiledKernelKey(options.paravirt, kernelInputs(sources, options.paravirt));
  if (kernel.key !== key) return false;
  const byInput = compiledKernelsOf(sources);
  if (!byInput.has(key)) {
    kernelCompileCounts.adopted++;
    keep(byInput, key, kernel.compiled);
  }
  return true;
}

function compiledKernelsOf(sources: KernelSources): Map<string, Compiled> {
  let byInput = compiledKernels.get(sources);
  if (!byInput) compiledKernels.set(sources, (byInput = new Map()));
  return byInput;
}

function keep(byInput: Map<string, Compiled>, key: string, compiled: Compiled): void {
  if (byInput.size >= COMPILED_KERNELS_KEPT) byInput.delete(byInput.keys().next().value!);
  byInput.set(key, compiled);
}

function compiledKernel(sources: KernelSources, paravirt: string | undefined, inputs = kernelInputs(sources, paravirt), key = compiledKernelKey(paravirt, inputs)): Compiled {
  const byInput = compiledKernelsOf(sources);
  let hit = byInput.get(key);
  if (!hit) {
    kernelCompileCounts.compiled++;
    hit = compileSources(inputs, { paravirt });
    keep(byInput, key, hit);
  }
  return hit;
}

/** A fresh, zeroed disk image big enough for the io workload at `scale`. */
export function kernelDisk(scale = 1): Uint8Array {
  return new Uint8Array(kernelDiskBytes(scale));
}

