// The playground's page: a CodeMirror 6 editor (G32 assembly through the
// ISA-driven StreamLanguage of asm-language.ts, the guest TypeScript dialect
// through lang-javascript), the samples, and four views of what the worker
// (worker.ts, the whole toolchain) answers: Build (compiled and annotated
// assembly, every site marked, errors as editor diagnostics), Sites (each
// site before/after rewriting per back end), Run (the matrix as a chart and a
// table) and Step (a back end's machine one instruction at a time). The
// program and the options live in the URL; `?sample=NAME&run=1` builds and
// runs a sample on load. Consumes Replies, produces Requests (protocol.ts).

import { javascript } from "@codemirror/lang-javascript";
import { setDiagnostics, lintGutter, type Diagnostic as CmDiagnostic } from "@codemirror/lint";
import { Compartment } from "@codemirror/state";
import { basicSetup, EditorView } from "codemirror";
import type { Diagnostic } from "../guest-isa/diagnostics.js";
import { ABI_NAMES, CR_NAMES, PSR } from "../guest-isa/registers.js";
import { g32Assembly, g32Highlight, tokenizeLine } from "./asm-language.js";
import { breakdownChart, overheadChart } from "./chart.js";
import type { BackendSites, BuildReply, Program, Reply, Request, RunRow, SiteMark, StepState } from "./protocol.js";
import { findSample, SAMPLES, sampleText, type Sample } from "./samples.js";

const BACKENDS = ["bare", "hvm", "trap", "xen", "l4"];
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

// ------------------------------------------------------------------ the worker

declare global {
  interface Window {
    /** Started by index.html before this script loads (the toolchain loads in parallel with the editor). */
    previrtWorker?: Worker;
  }
}

const worker = window.previrtWorker ?? new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
let nextId = 1;
const pending = new Map<number, { resolve: (r: Reply) => void; progress?: (r: Reply) => void }>();
worker.onmessage = (e: MessageEvent<Reply>) => {
  const p = pending.get(e.data.id);
  if (!p) return;
  if (e.data.op === "run-row") return p.progress?.(e.data);
  pending.delete(e.data.id);
  p.resolve(e.data);
};

type Body<R> = R extends { id: number } ? Omit<R, "id"> : never;
function call(req: Body<Request>, progress?: (r: Reply) => void): Promise<Reply> {
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, { resolve, progress });
    worker.postMessage({ ...req, id } as Request);
  });
}

function status(text: string, error = false): void {
  const s = $("status");
  s.textContent = text;
  s.classList.toggle("error", error);
}

// ------------------------------------------------------------------ state and URL

let sample: Sample = SAMPLES[0];
let built: BuildReply | undefined;
let runRows: RunRow[] | undefined;
let sitesData: BackendSites[] | undefined;
let sitesBackend = "xen";
let stepBackend = "xen";
let tab = "build";
let generation = 0; // bumped by every edit: results of an older program are stale

const language = new Compartment();
const languageFor = (file: string) => (file.endsWith(".ts") ? javascript({ typescript: true }) : [g32Assembly, g32Highlight]);

const editor = new EditorView({
  parent: $("editor"),
  extensions: [
    basicSetup,
    lintGutter(),
    language.of(languageFor(SAMPLES[0].file)),
    EditorView.updateListener.of((u) => {
      if (u.docChanged) {
        generation++;
        scheduleUrl();
      }
    }),
    EditorView.contentAttributes.of({ "aria-label": "program source" }),
  ],
});

function programText(): string {
  return editor.state.doc.toString();
}

function currentProgram(): Program {
  return sample.workload ? { kind: "kernel", workload: sample.workload, text: programText() } : { kind: "guest", file: sample.file, text: programText() };
}

function encodeText(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeText(s: string): string {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** The URL for the current program and options: the sample, the text only when edited, the view, the back ends picked. */
function currentUrl(): string {
  const p = new URLSearchParams();
  p.set("sample", sample.name);
  const text = programText();
  if (text !== sampleText(sample)) p.set("code", encodeText(text));
  if (tab !== "build") p.set("tab", tab);
  if (sitesBackend !== "xen") p.set("sites", sitesBackend);
  if (stepBackend !== "xen") p.set("step", stepBackend);
  return `${location.pathname}?${p}`;
}

let urlTimer: number | undefined;
function scheduleUrl(): void {
  clearTimeout(urlTimer);
  urlTimer = window.setTimeout(() => history.replaceState(null, "", currentUrl()), 300);
}

function loadSample(s: Sample, text?: string): void {
  sample = s;
  ($("sample") as HTMLSelectElement).value = s.name;
  $("file-name").textContent = s.file;
  $("file-note").textContent = `— ${s.note}`;
  editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: text ?? sampleText(s) }, effects: language.reconfigure(languageFor(s.file)) });
  built = undefined;
  runRows = undefined;
  sitesData = undefined;
  renderAll();
  scheduleUrl();
}

// ------------------------------------------------------------------ tabs

const TABS = ["build", "sites", "run", "step"];

function selectTab(name: string, focus = false): void {
  tab = name;
  for (const t of TABS) {
    const button = $(`tab-${t}`);
    button.setAttribute("aria-selected", String(t === name));
    button.tabIndex = t === name ? 0 : -1;
    $(`panel-${t}`).hidden = t !== name;
    if (t === name && focus) button.focus();
  }
  scheduleUrl();
  if (name === "sites" && built?.ok && !sitesData) void loadSites();
  if (name === "step" && built?.ok) renderStepIdle();
}

for (const t of TABS) $(`tab-${t}`).addEventListener("click", () => selectTab(t));
$("tabs").addEventListener("keydown", (e) => {
  const i = TABS.indexOf(tab);
  if (e.key === "ArrowRight") selectTab(TABS[(i + 1) % TABS.length], true);
  else if (e.key === "ArrowLeft") selectTab(TABS[(i + TABS.length - 1) % TABS.length], true);
  else return;
  e.preventDefault();
});

// ------------------------------------------------------------------ build

function listing(text: string, marks: readonly SiteMark[] = [], id = ""): string {
  const siteAt = new Map<number, { mark: SiteMark; first: boolean }>();
  marks.forEach((m) => {
    for (let k = 0; k < m.lines; k++) siteAt.set(m.line + k, { mark: m, first: k === 0 });
  });
  const lines = text.split("\n").map((line, i) => {
    const n = i + 1;
    const body = tokenizeLine(line)
      .map((t) => (t.token ? `<span class="tok-${t.token}">${esc(t.text)}</span>` : esc(t.text)))
      .join("");
    const site = siteAt.get(n);
    if (!site) return `<span class="ln" data-n="${n}">${body}</span>`;
    if (!site.first) return `<span class="ln site" data-n="${n}">${body}</span>`;
    const idx = marks.indexOf(site.mark);
    const tip = `${site.mark.kind} site, ${site.mark.length} bytes\n${site.mark.record}\nsource ${site.mark.source}`;
    return `<span class="ln site site-first" data-n="${n}" data-site="${idx}" tabindex="0" title="${esc(tip)}">${body}</span>`;
  });
  return `<pre class="listing"${id ? ` id="${id}"` : ""}>${lines.join("")}</pre>`;
}

function toCm(d: Diagnostic): CmDiagnostic | undefined {
  if (d.file !== sample.file) return undefined;
  const doc = editor.state.doc;
  const line = doc.line(Math.min(Math.max(1, d.line), doc.lines));
  const from = Math.min(line.from + Math.max(0, d.col - 1), line.to);
  // Underline the word (name, mnemonic, number) the column points at, else one character.
  const rest = line.text.slice(from - line.from);
  const word = /^[\w.$]+/.exec(rest);
  const to = from + (word ? word[0].length : Math.min(1, rest.length));
  return { from, to, severity: d.severity ?? "error", message: d.message, source: "previrt" };
}

function showDiagnostics(diags: readonly Diagnostic[]): void {
  editor.dispatch(setDiagnostics(editor.state, diags.map(toCm).filter((d): d is CmDiagnostic => d !== undefined)));
  const list = $("problems");
  list.innerHTML = diags.map((d, i) => `<li tabindex="0" data-i="${i}">${esc(`${d.file}:${d.line}:${d.col}: ${d.severity ?? "error"}: ${d.message}`)}</li>`).join("");
  list.querySelectorAll("li").forEach((li) => {
    const go = () => {
      const cm = toCm(diags[Number(li.dataset.i)]);
      if (cm) editor.dispatch({ selection: { anchor: cm.from }, scrollIntoView: true });
      editor.focus();
    };
    li.addEventListener("click", go);
    li.addEventListener("keydown", (e) => e.key === "Enter" && go());
  });
}

async function build(): Promise<BuildReply> {
  const gen = generation;
  status("building…");
  const reply = await call({ op: "build", program: currentProgram() });
  if (reply.op !== "build") throw new Error(reply.op === "error" ? reply.message : "unexpected reply");
  built = reply.build;
  runRows = undefined;
  sitesData = undefined;
  showDiagnostics(built.diagnostics);
  if (built.ok) status(`built in ${built.ms.toFixed(0)} ms: ${built.siteCount} sites${gen !== generation ? " (edited since)" : ""}`);
  else status(built.error ?? `${built.diagnostics.length} error${built.diagnostics.length === 1 ? "" : "s"}`, true);
  renderAll();
  return built;
}

function renderBuild(): void {
  const panel = $("panel-build");
  if (!built) {
    panel.innerHTML = `<p class="note">Build (Ctrl+S) compiles, annotates and assembles the program; Build &amp; run (Ctrl+Enter) also runs it on every back end.</p>`;
    return;
  }
  if (!built.ok) {
    panel.innerHTML = `<h2>Build failed</h2>${built.error ? `<pre class="explain">${esc(built.error)}</pre>` : ""}<pre class="explain" id="build-errors">${esc(
      built.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.severity ?? "error"}: ${d.message}`).join("\n"),
    )}</pre>`;
    return;
  }
  const marks = built.marks ?? [];
  const ts = sample.file.endsWith(".ts");
  panel.innerHTML = `<p class="note mono">${esc(built.sections ?? "")}</p>
<p><strong id="site-count">${built.siteCount}</strong> sites in the image's <code>.softlayer</code> table; ${marks.length} in ${esc(sample.file)}, marked below — hover or focus one for its record and source line.</p>
<div id="site-detail" class="mono" aria-live="polite"></div>
<div class="panes"><div><h3>${ts ? "compiled assembly" : "input assembly"}</h3>${listing(built.compiled ?? "", [], "compiled")}</div>
<div><h3>annotated assembly</h3>${listing(built.annotated ?? "", marks, "annotated")}</div></div>`;
  const detail = $("site-detail");
  panel.querySelectorAll<HTMLElement>("[data-site]").forEach((el) => {
    const show = () => {
      const m = marks[Number(el.dataset.site)];
      detail.textContent = `${m.kind} site, ${m.length} bytes · ${m.record}\nsource ${m.source}`;
    };
    el.addEventListener("mouseenter", show);
    el.addEventListener("focus", show);
  });
}

// ------------------------------------------------------------------ sites

async function loadSites(): Promise<void> {
  const reply = await call({ op: "sites" });
  if (reply.op === "sites") sitesData = reply.sites;
  else if (reply.op === "error") status(reply.message, true);
  renderSites();
}

function renderSites(): void {
  const panel = $("panel-sites");
  if (!built?.ok) {
    panel.innerHTML = `<p class="note">Build the program to see what each back end makes of its sites.</p>`;
    return;
  }
  if (!sitesData) {
    panel.innerHTML = `<p class="note">rewriting for every back end…</p>`;
    return;
  }
  const summary = `<div class="table-wrap"><table id="sites-summary"><thead><tr><th>back end</th><th class="num">native</th><th class="num">inline</th><th class="num">call</th><th class="num">stub</th><th>how</th></tr></thead><tbody>${sitesData
    .map(
      (b) =>
        `<tr><td>${esc(b.backend)}</td>${b.error ? `<td colspan="4" class="diverged">${esc(b.error)}</td>` : ["native", "inline", "call", "stub"].map((k) => `<td class="num">${b.counts[k] ?? 0}</td>`).join("")}<td class="note">${esc(b.description)}</td></tr>`,
    )
    .join("")}</tbody></table></div>`;
  const chosen = sitesData.find((b) => b.backend === sitesBackend) ?? sitesData[0];
  const picker = `<div class="controls" role="group" aria-label="back end">${sitesData
    .map((b) => `<button data-hv="${esc(b.backend)}" aria-pressed="${b.backend === chosen.backend}">${esc(b.backend)}</button>`)
    .join("")}</div>`;
  const rows = chosen.rows
    .map(
      (r) => `<tr class="site-row"><td class="mono">${hex(r.addr)}</td><td>${esc(r.kind)}</td><td class="strategy-${esc(r.strategy)}">${esc(r.strategy)}</td><td class="num">${r.length}</td>
<td><pre>${r.before.map((l) => esc(l)).join("\n")}</pre></td><td><pre>${r.after.map((l) => esc(l)).join("\n")}</pre></td><td class="note mono">${esc(r.source)}</td></tr>`,
    )
    .join("");
  panel.innerHTML = `<h2>Sites per back end</h2>${summary}<h2>Before and after rewriting: ${esc(chosen.backend)}</h2>${picker}
${chosen.rows.length ? `<div class="table-wrap"><table id="sites-table"><thead><tr><th>address</th><th>kind</th><th>strategy</th><th class="num">bytes</th><th>before</th><th>after (${esc(chosen.backend)})</th><th>source</th></tr></thead><tbody>${rows}</tbody></table></div>` : `<p class="note">${chosen.error ? esc(chosen.error) : "no sites: the binary has no .softlayer table, or no sensitive instruction"}</p>`}`;
  panel.querySelectorAll<HTMLButtonElement>("[data-hv]").forEach((b) =>
    b.addEventListener("click", () => {
      sitesBackend = b.dataset.hv!;
      scheduleUrl();
      renderSites();
      panel.querySelector<HTMLButtonElement>(`[data-hv="${sitesBackend}"]`)?.focus();
    }),
  );
}

// ------------------------------------------------------------------ run

async function runMatrix(): Promise<void> {
  if (!built?.ok) return;
  status("running the matrix…");
  const rows: RunRow[] = [];
  runRows = rows;
  renderRun();
  const reply = await call({ op: "run", backends: BACKENDS }, (r) => {
    if (r.op !== "run-row") return;
    rows[r.index] = r.row;
    status(`ran ${r.row.backend} (${r.index + 1}/${r.total})…`);
    renderRun();
  });
  if (reply.op === "run") {
    runRows = reply.rows;
    const bad = reply.rows.filter((r) => r.divergent).map((r) => r.backend);
    status(`matrix in ${(reply.ms / 1000).toFixed(2)} s${bad.length ? `: ${bad.join(", ")} diverged` : ": every back end same as bare"}`);
  } else if (reply.op === "error") status(reply.message, true);
  renderRun();
}

function explainDivergence(r: RunRow, ref: RunRow): string {
  const why =
    r.backend === "trap"
      ? "Classic trap-and-emulate deprivileges the kernel and emulates what traps. rdpsr and wrpsr are sensitive but not privileged: in user mode they do not trap, so the kernel reads the real (user-mode) psr and its wrpsr cannot turn interrupts back on — the virtualization hole pre-virtualization closes by rewriting those sites."
      : "The back end's console or ending differs from the reference's.";
  const line = r.verdict.match(/line (\d+)/)?.[1];
  return `<div class="explain" id="explain-${esc(r.backend)}"><strong>${esc(r.backend)} ${esc(r.verdict)}</strong>${line ? ` — ${esc(ref.backend)} printed <code>${esc(r.expected ?? "(nothing)")}</code>, ${esc(r.backend)} printed <code>${esc(r.actual ?? "(nothing)")}</code>` : ""}; it ended with <code>${esc(r.ending)}</code> (${esc(ref.backend)}: <code>${esc(ref.ending)}</code>).<br>${esc(why)}<br><span class="note">${esc(r.backend)}: ${esc(r.description)}</span></div>`;
}

function renderRun(): void {
  const panel = $("panel-run");
  if (!runRows) {
    panel.innerHTML = built?.ok ? `<p class="note">Run the matrix: the same binary on every back end, compared with bare metal.</p><button id="run-here">Run the matrix</button>` : `<p class="note">Build the program first.</p>`;
    panel.querySelector("#run-here")?.addEventListener("click", () => void runMatrix());
    return;
  }
  const rows = runRows.filter(Boolean);
  if (!rows.length) {
    panel.innerHTML = `<p class="note">running…</p>`;
    return;
  }
  const ref = rows[0];
  const table = `<div class="table-wrap"><table id="matrix"><thead><tr><th>back end</th><th>verdict</th><th>ending</th><th class="num">cycles</th><th class="num">vs ${esc(ref.backend)}</th><th class="num">exits</th><th class="num">hcalls</th><th class="num">IPCs</th><th class="num">traps</th><th class="num">sites i/c/s</th></tr></thead><tbody>${rows
    .map(
      (r) => `<tr data-backend="${esc(r.backend)}"><td>${esc(r.backend)}</td><td class="verdict ${r.divergent ? "diverged" : r.verdict === "reference" ? "reference" : "same"}">${esc(r.verdict)}</td><td>${esc(r.ending)}</td>
<td class="num">${fmt(r.cycles)}</td><td class="num">${r.overhead.toFixed(2)}×</td><td class="num">${fmt(r.exits)}</td><td class="num">${fmt(r.hypercalls)}</td><td class="num">${fmt(r.ipcs)}</td><td class="num">${fmt(r.traps)}</td><td class="num">${r.sites.inline ?? 0}/${r.sites.call ?? 0}/${r.sites.stub ?? 0}</td></tr>`,
    )
    .join("")}</tbody></table></div>`;
  const { svg, legend } = breakdownChart(rows);
  const consoles = rows
    .map((r) => `<details${r.divergent ? " open" : ""}><summary>${esc(r.backend)} console (${r.console.split("\n").length - 1} lines)</summary><pre class="listing console" data-backend="${esc(r.backend)}">${esc(r.console)}</pre></details>`)
    .join("");
  panel.innerHTML = `<h2>The matrix</h2>${table}${rows.filter((r) => r.divergent).map((r) => explainDivergence(r, ref)).join("")}
<h2>Simulated cycles vs ${esc(ref.backend)}</h2>${overheadChart(rows)}
<h2>Where the cycles go</h2>${legend}${svg}
<p class="note">Cycles are the emulated machine's cost model (docs/cost-model.md): each priced event (VM exit, hypercall, IPC, exception entry, …) times its price; "instructions" is the rest.</p>
<h2>Consoles</h2>${consoles}`;
}

// ------------------------------------------------------------------ step

function renderStepIdle(): void {
  const panel = $("panel-step");
  if (panel.dataset.started === String(generation) && panel.dataset.builtFor === String(buildCount)) return;
  panel.dataset.started = "";
  panel.innerHTML = `<div class="controls"><label>back end <select id="step-hv">${BACKENDS.map((b) => `<option${b === stepBackend ? " selected" : ""}>${b}</option>`).join("")}</select></label>
<button id="step-start">Start</button></div><p class="note">Start a machine on the chosen back end (the program rewritten for it, as the loader does) and step it one instruction at a time.</p>`;
  $("step-hv").addEventListener("change", (e) => {
    stepBackend = (e.target as HTMLSelectElement).value;
    scheduleUrl();
  });
  $("step-start").addEventListener("click", () => void stepCall({ op: "step-start", backend: stepBackend }));
}

let buildCount = 0;

async function stepCall(req: Body<Request>): Promise<void> {
  const reply = await call(req);
  if (reply.op === "step") renderStep(reply.state);
  else if (reply.op === "error") status(reply.message, true);
}

const PSR_BITS = (psr: number) => `${psr & PSR.SU ? "SU" : "user"}${psr & PSR.IE ? " IE" : ""}`;

function renderStep(s: StepState): void {
  const panel = $("panel-step");
  panel.dataset.started = String(generation);
  panel.dataset.builtFor = String(buildCount);
  const names = ABI_NAMES;
  const crNames = CR_NAMES;
  const regs = `<table class="regs" id="regs"><tbody>${[0, 4, 8, 12]
    .map((r) => `<tr>${[0, 1, 2, 3].map((c) => `<td>${names[r + c]}</td><td>${hex(s.regs[r + c])}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
  const crs = (cr: number[]) => `<table class="regs"><tbody><tr>${cr.map((v, i) => `<td>${crNames[i]}</td><td>${hex(v)}</td>${i % 4 === 3 ? "</tr><tr>" : ""}`).join("")}</tr></tbody></table>`;
  const siteOptions = s.sites.map((x) => `<option value="${x.addr}">${esc(x.label)}</option>`).join("");
  panel.innerHTML = `<div class="controls"><label>back end <select id="step-hv">${BACKENDS.map((b) => `<option${b === s.backend ? " selected" : ""}>${b}</option>`).join("")}</select></label>
<button id="step-start">Restart</button><button id="step-1" title="one instruction (or exception entry)">Step</button><button id="step-100">Step 100</button>
${s.sites.length ? `<label>site <select id="step-site">${siteOptions}</select></label><button id="step-to">Run to site</button>` : ""}<button id="step-run">Run to end</button></div>
<p class="mono" id="step-where">${esc(s.backend)} · pc ${hex(s.pc)} · psr ${hex(s.psr)} (${PSR_BITS(s.psr)}) · cycles ${fmt(s.cycles)} · instructions ${fmt(s.instructions)}${s.ended ? ` · <strong>ended: ${esc(s.ended)}</strong>` : ""}</p>
<div class="grid2"><div><h3>at pc</h3><pre class="listing" id="step-around">${s.around.map(esc).join("\n")}</pre></div>
<div><h3>last instructions</h3><pre class="listing" id="step-last">${s.last.map(esc).join("\n") || "(none yet)"}</pre></div></div>
<h3>registers</h3>${regs}<h3>control registers (real)</h3>${crs(s.cr)}
${s.virtual ? `<h3>virtual CPU (what the guest kernel believes)</h3><p class="mono">psr ${hex(s.virtual.psr)} (${PSR_BITS(s.virtual.psr)})</p>${crs(s.virtual.cr)}` : `<p class="note">${s.backend === "bare" ? "bare metal: no virtual CPU, the kernel owns the real one" : "hvm: the guest runs on the real registers; the VMM intercepts every sensitive instruction"}</p>`}
${s.window ? `<h3>soft-layer window (data the in-place VMM shares)</h3><div class="table-wrap"><table class="regs" id="step-window"><tbody>${s.window.map((w) => `<tr><td>${esc(w.name)}</td><td>${hex(w.addr)}</td><td>${Number.isNaN(w.value) ? "unmapped" : hex(w.value)}</td></tr>`).join("")}</tbody></table></div>` : ""}
<h3>console</h3><pre class="listing" id="step-console">${esc(s.console)}</pre>`;
  $("step-hv").addEventListener("change", (e) => {
    stepBackend = (e.target as HTMLSelectElement).value;
    scheduleUrl();
    void stepCall({ op: "step-start", backend: stepBackend });
  });
  $("step-start").addEventListener("click", () => void stepCall({ op: "step-start", backend: stepBackend }));
  $("step-1").addEventListener("click", () => void stepCall({ op: "step", count: 1 }).then(() => $("step-1").focus()));
  $("step-100").addEventListener("click", () => void stepCall({ op: "step", count: 100 }).then(() => $("step-100").focus()));
  $("step-run").addEventListener("click", () => void stepCall({ op: "step-run" }));
  panel.querySelector("#step-to")?.addEventListener("click", () => {
    const addr = Number(($("step-site") as HTMLSelectElement).value);
    void stepCall({ op: "step-to", addr }).then(() => {
      const sel = document.getElementById("step-site") as HTMLSelectElement | null;
      if (sel) sel.value = String(addr);
    });
  });
}

function renderAll(): void {
  renderBuild();
  renderSites();
  renderRun();
  if (tab === "step") renderStepIdle();
  else $("panel-step").innerHTML = "";
}

// ------------------------------------------------------------------ wiring

async function buildAndMaybeRun(run: boolean): Promise<void> {
  buildCount++;
  const b = await build();
  if (!b.ok) {
    selectTab("build");
    return;
  }
  if (tab === "sites") void loadSites();
  if (run) {
    selectTab("run");
    await runMatrix();
  }
}

const select = $("sample") as HTMLSelectElement;
select.innerHTML = SAMPLES.map((s) => `<option value="${esc(s.name)}">${esc(s.title)}</option>`).join("");
select.addEventListener("change", () => {
  loadSample(findSample(select.value) ?? SAMPLES[0]);
  void buildAndMaybeRun(false);
});
$("build").addEventListener("click", () => void buildAndMaybeRun(false));
$("run").addEventListener("click", () => void buildAndMaybeRun(true));
$("share").addEventListener("click", () => {
  history.replaceState(null, "", currentUrl());
  void navigator.clipboard?.writeText(location.href).catch(() => {});
  status("the link to this program is in the address bar (and the clipboard)");
});
document.addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
    e.preventDefault();
    void buildAndMaybeRun(true);
  } else if ((e.ctrlKey || e.metaKey) && e.key === "s") {
    e.preventDefault();
    void buildAndMaybeRun(false);
  }
});

async function start(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const s = findSample(params.get("sample")) ?? SAMPLES[0];
  let text: string | undefined;
  try {
    text = params.has("code") ? decodeText(params.get("code")!) : undefined;
  } catch {
    status("the link's program text is damaged: showing the sample", true);
  }
  sitesBackend = BACKENDS.includes(params.get("sites") ?? "") ? params.get("sites")! : "xen";
  stepBackend = BACKENDS.includes(params.get("step") ?? "") ? params.get("step")! : "xen";
  loadSample(s, text);
  const wanted = params.get("tab");
  if (wanted && TABS.includes(wanted)) selectTab(wanted);
  await buildAndMaybeRun(params.get("run") === "1");
  // For the browser test and docs/playground.md's figures: milliseconds from navigation to the first result.
  document.body.dataset.firstResultMs = String(Math.round(performance.now()));
  document.body.dataset.ready = "1";
}

void start();
