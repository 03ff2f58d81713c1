// The playground's build (the worker's "build" request, worker.ts): a
// Program (protocol.ts: a guest's one source file, or the bundled kernel
// with its kernel.ts as edited and a workload) becomes the page's BuildReply
// (the edited file compiled and annotated, its sites marked, the image's
// sections) and the Built the worker keeps for the run, sites, step and
// migrate requests. Made from the bundled fixtures handed in (the worker's
// are bundled as strings; a Node test reads the files), so it runs in Node
// as well as in the browser: no DOM, no Node API.

import { annotate, formatRecordOperands } from "../annotator/index.js";
import { buildSources, compileSources, isTypeScript } from "../cli/build-pipeline.js";
import { adoptUserProgramsFrom, buildKernelFrom, compileKernelFrom, KERNEL_FILES, kernelDisk, userProgramsSourceFrom, WORKLOADS, type KernelSources, type Workload } from "../cli/kernel-recipe.js";
import type { AsmSource } from "../compiler/startup.js";
import { DiagnosticError, UserError, type Diagnostic } from "../guest-isa/diagnostics.js";
import { findSection, SOFTLAYER_SECTION, type ElfImage } from "../guest-isa/elf-types.js";
import { parseSoftlayerTable, SITE_FLAG_EXEMPT, siteKindName, type SiteRecord } from "../guest-isa/softlayer.js";
import type { BuildReply, Program, SiteMark } from "./protocol.js";

/** A built program, kept by the worker between requests. */
export interface Built {
  program: Program;
  image: ElfImage;
  /** A fresh disk per run (the bundled kernel's io workload), else none. */
  disk?: () => Uint8Array;
  /** Source text by file name, for "source line" in hovers and tables. */
  texts: Map<string, string>;
}

const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");

/** The line of `file` a site or record names, trimmed ("" when unknown). */
export function sourceLine(texts: Map<string, string>, file: string, line: number): string {
  const text = texts.get(file);
  return text?.split("\n")[line - 1]?.trim() ?? "";
}

function records(image: ElfImage): SiteRecord[] {
  const s = findSection(image, SOFTLAYER_SECTION);
  return s ? parseSoftlayerTable(s.data.subarray(0, s.size)).records.filter((r) => (r.flags & SITE_FLAG_EXEMPT) === 0) : [];
}

/** Marks every site in the annotated text: its lines, its record in the image's table, its source line. */
function markSites(annotated: ReturnType<typeof annotate>, image: ElfImage, texts: Map<string, string>): SiteMark[] {
  const lines = annotated.text.split("\n");
  const labelLine = new Map<string, number>();
  lines.forEach((l, i) => {
    const m = /^\s*(\.L__sl_\d+):/.exec(l);
    if (m) labelLine.set(m[1], i + 1);
  });
  // Records by source position, consumed in order (several sites may share a line).
  const byOrigin = new Map<string, SiteRecord[]>();
  for (const r of records(image)) {
    const key = `${r.file}:${r.line}`;
    byOrigin.set(key, [...(byOrigin.get(key) ?? []), r]);
  }
  return annotated.sites.map((s) => {
    const at = labelLine.get(s.label) ?? 0;
    // The instruction is the first line after the label that is not blank or a comment.
    let first = at;
    while (first < lines.length && (first === at || /^\s*(#.*)?$/.test(lines[first - 1]))) first++;
    if (first === at) first = at + 1;
    const rec = byOrigin.get(`${s.origin.file}:${s.origin.line}`)?.shift();
    const record = rec
      ? `.softlayer record: ${hex(rec.addr)}  ${siteKindName(rec.kind)}  ${rec.length} bytes  ${formatRecordOperands(rec)}  (${rec.file}:${rec.line})`
      : `.softlayer record: ${s.kindName}, ${s.length} bytes (not in the image)`;
    return {
      line: first,
      lines: Math.max(1, s.length >>> 2),
      kind: s.kindName,
      addr: rec?.addr,
      length: s.length,
      record,
      source: `${s.origin.file}:${s.origin.line}: ${sourceLine(texts, s.origin.file, s.origin.line)}`,
    };
  });
}

function diagnosticsOf(e: unknown): Diagnostic[] | undefined {
  return e instanceof DiagnosticError ? [...e.diagnostics] : undefined;
}

/** Edited texts of kernel.ts whose builds are kept (the recipe keeps as many compiles per sources). */
const EDITED_KERNELS_KEPT = 4;

/** The build from these fixtures (by path in the repository: "fixtures/kernel/kernel.ts"): reply and, when it built, what to keep. */
export type BuildProgram = (program: Program) => { reply: BuildReply; built?: Built };

export function programBuilder(fixtures: Readonly<Record<string, string>>): BuildProgram {
  /** The bundled kernel's sources; one function, so its user programs are built once. */
  const bundledKernel: KernelSources = (path) => {
    const text = fixtures[`fixtures/kernel/${path}`];
    if (text === undefined) throw new UserError(`the playground bundles no fixtures/kernel/${path}`);
    return text;
  };

  /**
   * Sources with kernel.ts as edited, one function per text (the last few):
   * the recipe caches its compile per function, so the same text built again
   * (another workload, a reload) is not compiled again.
   */
  const editedKernels = new Map<string, KernelSources>();
  function kernelSources(kernelTs: string): KernelSources {
    if (kernelTs === bundledKernel("kernel.ts")) return bundledKernel;
    let sources = editedKernels.get(kernelTs);
    if (!sources) {
      sources = (path) => (path === "kernel.ts" ? kernelTs : bundledKernel(path));
      // The user programs read only user/, which no edit changes: the bundled kernel's, not built again per edit.
      adoptUserProgramsFrom(sources, userProgramsSourceFrom(bundledKernel).text);
      if (editedKernels.size >= EDITED_KERNELS_KEPT) editedKernels.delete(editedKernels.keys().next().value!);
    }
    editedKernels.delete(kernelTs);
    editedKernels.set(kernelTs, sources);
    return sources;
  }

  return (program) => {
    const started = performance.now();
    try {
      let image: ElfImage;
      let disk: (() => Uint8Array) | undefined;
      let inputs: AsmSource[];
      let compiled: AsmSource;
      if (program.kind === "guest") {
        const edited = { file: program.file, text: program.text };
        inputs = [edited];
        image = buildSources(inputs).image;
        // compileSources keeps the inputs' order (the name of a compiled file depends on its neighbours: build-pipeline.ts namedApart).
        compiled = isTypeScript(edited.file) ? compileSources(inputs).assembly[0] : edited;
      } else {
        if (!(WORKLOADS as readonly string[]).includes(program.workload)) throw new UserError(`unknown workload '${program.workload}'`);
        const sources = kernelSources(program.text);
        image = buildKernelFrom(sources, { workload: program.workload as Workload }).image;
        disk = () => kernelDisk();
        // The compiled view of kernel.ts: the recipe's compile, which it just did or took from its cache (its
        // .ts inputs compiled together in KERNEL_FILES' order, the .s inputs beside them keep their names).
        const kernel = compileKernelFrom(sources).compiled.assembly;
        inputs = KERNEL_FILES.filter((f) => f.endsWith(".ts")).map((f) => ({ file: `fixtures/kernel/${f}`, text: sources(f) }));
        compiled = kernel[KERNEL_FILES.indexOf("kernel.ts")];
      }
      // Every file a site can come from: the inputs, and for the kernel its other bundled sources (entry.s, user programs).
      const texts = new Map(program.kind === "kernel" ? Object.entries(fixtures).filter(([f]) => f.startsWith("fixtures/kernel/")) : []);
      for (const s of inputs) texts.set(s.file, s.text);
      const annotated = annotate(compiled.file, compiled.text);
      const sections = image.sections
        .filter((s) => s.addr || s.name === ".softlayer")
        .map((s) => `${s.name} ${s.addr ? hex(s.addr) : ""} ${s.type === 8 ? s.size : s.data.length} bytes`.replace("  ", " "))
        .join(" · ");
      const reply: BuildReply = {
        ok: true,
        diagnostics: [],
        compiled: compiled.text,
        annotated: annotated.text,
        marks: markSites(annotated, image, texts),
        siteCount: records(image).length,
        sections,
        ms: performance.now() - started,
      };
      return { reply, built: { program, image, disk, texts } };
    } catch (e) {
      const diagnostics = diagnosticsOf(e);
      if (diagnostics) return { reply: { ok: false, diagnostics, ms: performance.now() - started } };
      return { reply: { ok: false, diagnostics: [], error: e instanceof UserError ? e.message : `internal error: ${(e as Error)?.stack ?? e}`, ms: performance.now() - started } };
    }
  };
}
