// The playground's page: a CodeMirror 6 editor (G32 assembly through the
// ISA-driven StreamLanguage of asm-language.ts, the guest TypeScript dialect
// through lang-javascript), the samples, and four views of what the worker
// (worker.ts, the whole toolchain) answers: Build (compiled and annotated
// assembly, every site marked, errors as editor diagnostics), Sites (each
// site before/after rewriting per back end), Run (the matrix as a chart and a
// table; the run options CPUs, physical CPUs, protect) and Step (a back
// end's machine one instruction at a time, one CPU). The
// program and the options live in the URL; `?sample=NAME&run=1` builds and
// runs a sample on load. Consumes Replies, produces Requests (protocol.ts).

import { javascript } from "@codemirror/lang-javascript";
import { setDiagnostics, lintGutter, type Diagnostic as CmDiagnostic } from "@codemirror/lint";
import { Compartment, Prec } from "@codemirror/state";
import { keymap } from "@codemirror/view";
import { basicSetup, EditorView } from "codemirror";
import type { Diagnostic } from "../guest-isa/diagnostics.js";
import { ABI_NAMES, CR_NAMES, PSR } from "../guest-isa/registers.js";
import { g32Assembly, g32Highlight, tokenizeLine } from "./asm-language.js";
import { breakdownChart, overheadChart, roundsChart } from "./chart.js";
import { cycleLimit, LIMITS } from "./protocol.js";
import type { BackendSites, BuildReply, MigrateOptions, MigrateReply, Program, Reply, Request, RunOptions, RunRow, SiteMark, StepOptions, StepState } from "./protocol.js";
import { BACKENDS, CPU_CHOICES, encodeText, linkStart, programOf } from "./link.js";
import { SAMPLES, findSample, sampleText, type Sample } from "./samples.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const pages = (n: number) => `${fmt(n)} page${n === 1 ? "" : "s"}`;

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
/** The worker's refusal or failure of the last run or move, shown in its view (the status line may be out of sight). */
let runError: string | undefined;
let migrateError: string | undefined;
/**
 * Bumped whenever results go stale (a build, another sample, other run
 * options): a run or move asked for before is answered later — the worker
 * finishes it first — and its answer is for another program or options, so
 * it is dropped rather than shown under the new ones.
 */
let resultsEpoch = 0;
/** Matrix runs and moves asked of the worker and not yet answered. */
let underway = 0;
let sitesData: BackendSites[] | undefined;
let sitesBackend = "xen";
let stepBackend = "xen";
/** The Step view's interleaving quantum with several CPUs (Machine's default 10,000: the Run view's schedule). */
let stepQuantum = 10_000;
let tab = "build";
/** The matrix's run options (the CLI's --cpus, --pcpus, --no-protect); pcpus undefined: one physical CPU per CPU. */
let runOptions: RunOptions = { cpus: 1, protect: true };
let generation = 0; // bumped by every edit: results of an older program are stale

const language = new Compartment();
const languageFor = (file: string) => (file.endsWith(".ts") ? javascript({ typescript: true }) : [g32Assembly, g32Highlight]);

const editor = new EditorView({
  parent: $("editor"),
  extensions: [
    // Before basicSetup's keymap, where Mod-Enter inserts a blank line: Ctrl+Enter and Ctrl+S run and build, and leave the program as it is.
    Prec.highest(
      keymap.of([
        { key: "Mod-Enter", run: () => (void buildAndMaybeRun(true), true) },
        { key: "Mod-s", run: () => (void buildAndMaybeRun(false), true) },
      ]),
    ),
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
  return programOf(sample, programText());
}


/** The URL for the current program and options: the sample, the view, the back ends picked; the text, only when edited, in the fragment (link.ts). */
function currentUrl(): string {
  const p = new URLSearchParams();
  p.set("sample", sample.name);
  const text = programText();
  if (tab !== "build") p.set("tab", tab);
  if (sitesBackend !== "xen") p.set("sites", sitesBackend);
  if (stepBackend !== "xen") p.set("step", stepBackend);
  if (runOptions.cpus !== 1) p.set("cpus", String(runOptions.cpus));
  if (runOptions.pcpus !== undefined) p.set("pcpus", String(runOptions.pcpus));
  if (!runOptions.protect) p.set("protect", "0");
  if (runOptions.maxCycles !== undefined) p.set("max-cycles", String(runOptions.maxCycles));
  if (stepQuantum !== DEFAULT_QUANTUM) p.set("quantum", String(stepQuantum));
  const mo = migrateOptions;
  if (mo.from !== MIGRATE_DEFAULT.from || mo.to !== MIGRATE_DEFAULT.to) p.set("migrate", `${mo.from},${mo.to}`);
  if (mo.at !== undefined) p.set("at", String(mo.at));
  if (!mo.live) p.set("live", "0");
  return `${location.pathname}?${p}${text !== sampleText(sample) ? `#code=${encodeText(text)}` : ""}`;
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
  migrated = undefined;
  runError = migrateError = undefined;
  resultsEpoch++;
  sitesData = undefined;
  renderAll();
  scheduleUrl();
}

// ------------------------------------------------------------------ tabs

const TABS = ["build", "sites", "run", "step", "migrate"];

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
  migrated = undefined;
  runError = migrateError = undefined;
  resultsEpoch++;
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

/** Shows runOptions in the header's controls: the physical-CPU choices are "= CPUs" and the fewer ones. */
function showRunOptions(): void {
  ($("cpus") as HTMLSelectElement).value = String(runOptions.cpus);
  const pc = $("pcpus") as HTMLSelectElement;
  pc.innerHTML = `<option value="">= CPUs</option>${CPU_CHOICES.filter((n) => n < runOptions.cpus).map((n) => `<option>${n}</option>`).join("")}`;
  pc.value = runOptions.pcpus === undefined ? "" : String(runOptions.pcpus);
  pc.disabled = runOptions.cpus === 1;
  ($("protect") as HTMLInputElement).checked = runOptions.protect;
}


function changeRunOptions(): void {
  const cpus = Number(($("cpus") as HTMLSelectElement).value);
  const pcpus = Number(($("pcpus") as HTMLSelectElement).value) || undefined;
  // The cycle limit has no control in the header: it stays the link's.
  const limit = runOptions.maxCycles !== undefined ? { maxCycles: runOptions.maxCycles } : {};
  runOptions = { cpus, pcpus: pcpus !== undefined && pcpus < cpus ? pcpus : undefined, protect: ($("protect") as HTMLInputElement).checked, ...limit };
  showRunOptions();
  scheduleUrl();
  // Results of other options are stale.
  runRows = undefined;
  migrated = undefined;
  runError = migrateError = undefined;
  resultsEpoch++;
  // A run or move under way is for the old options: say so rather than leave "running…" (its answer is dropped).
  if (underway > 0) status("run options changed: the run under way was for the old ones — run again for these");
  renderRun();
  renderMigrate();
  if (tab === "step") renderStepIdle();
}

/** The run options in words (the Run and Migrate views). */
function runOptionsText(o: RunOptions): string {
  return `${o.cpus} CPU${o.cpus > 1 ? "s" : ""}${o.pcpus !== undefined ? `, time-sliced on ${o.pcpus} physical CPU${o.pcpus > 1 ? "s" : ""} by the hypervisors` : ""}; the in-place VMM ${o.protect ? "in its protection domain" : "unprotected"}; a run stops at ${fmt(cycleLimit(o))} simulated cycles${o.maxCycles !== undefined ? " (the link's max-cycles)" : ""}`;
}

/** The cycle limit a run, step-run or move with these options stopped at, in words: the page's, or the link's (max-cycles=N). */
function limitText(o: { maxCycles?: number }): string {
  return `${o.maxCycles !== undefined ? "the link's limit (max-cycles)" : "the playground's limit"} of ${fmt(cycleLimit(o))} simulated cycles`;
}

/** The CLI's --max-cycles for a command line that reproduces a run: when the limit stopped one, or the link set it. */
function maxCyclesFlag(o: { maxCycles?: number }, atLimit: boolean): string {
  return atLimit || o.maxCycles !== undefined ? ` --max-cycles ${cycleLimit(o)}` : "";
}

async function runMatrix(): Promise<void> {
  if (!built?.ok) return;
  status("running the matrix…");
  runError = undefined;
  const rows: RunRow[] = [];
  runRows = rows;
  renderRun();
  const epoch = resultsEpoch;
  underway++;
  const reply = await call({ op: "run", backends: BACKENDS, options: runOptions }, (r) => {
    if (r.op !== "run-row" || epoch !== resultsEpoch) return;
    rows[r.index] = r.row;
    status(`ran ${r.row.backend} (${r.index + 1}/${r.total})…`);
    renderRun();
  }).finally(() => underway--);
  if (epoch !== resultsEpoch) return;
  if (reply.op === "run") {
    runRows = reply.rows;
    const bad = reply.rows.filter((r) => r.divergent).map((r) => r.backend);
    const limited = reply.rows[0]?.atLimit ? `; ${reply.rows[0].backend} stopped at the cycle limit: the guest did not end` : "";
    status(`matrix in ${(reply.ms / 1000).toFixed(2)} s${bad.length ? `: ${bad.join(", ")} diverged` : ": every back end same as bare"}${limited}`);
  } else if (reply.op === "error") {
    // No rows to wait for: the view says why instead of "running…".
    runRows = undefined;
    runError = reply.message;
    status(reply.message, true);
  }
  renderRun();
}

/** Longest part of a console line an explanation quotes (a guest may print one line of megabytes). */
const QUOTE_CHARS = 160;

/** A console line as an explanation quotes it: nothing printed there said so, a long one cut with what was left out. */
function quoteLine(text: string | undefined): string {
  if (!text) return "(nothing)";
  return text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS)}… (${fmt(text.length - QUOTE_CHARS)} more characters on that line)` : text;
}

/**
 * Runs that did not power off: for the cycle limit, that the guest had not
 * ended by then (the page's limit, lower than the CLI's); for every one,
 * the diagnosis `previrt run` prints — the reason, the registers, the last
 * instructions — the reference's open.
 */
function explainStops(rows: readonly RunRow[]): string {
  const stopped = rows.filter((r) => r.diagnosis);
  if (!stopped.length) return "";
  const limited = stopped.filter((r) => r.atLimit).map((r) => r.backend);
  const limit = limited.length
    ? `<p class="explain" id="limit-note"><strong>${esc(limited.join(", "))} stopped at ${limitText(runOptions)}</strong> (previrt matrix runs to ${fmt(LIMITS.cliMaxCycles)} unless given --max-cycles): the guest had not powered off by then. A loop that never ends, or a guest waiting for an event that never comes? The diagnosis below shows where it was; the Step view runs it one instruction at a time.</p>`
    : "";
  return `<h2>Why the runs stopped</h2>${limit}${stopped
    .map((r, i) => `<details${i === 0 ? " open" : ""}><summary>${esc(r.backend)}: ${esc(r.ending)}</summary><pre class="listing" data-diagnosis="${esc(r.backend)}">${esc(r.diagnosis!)}</pre></details>`)
    .join("")}`;
}

function explainDivergence(r: RunRow, ref: RunRow): string {
  const why =
    r.backend === "trap"
      ? "Classic trap-and-emulate deprivileges the kernel and emulates what traps. rdpsr and wrpsr are sensitive but not privileged: in user mode they do not trap, so the kernel reads the real (user-mode) psr and its wrpsr cannot turn interrupts back on — the virtualization hole pre-virtualization closes by rewriting those sites."
      : "The back end's console or ending differs from the reference's.";
  const line = r.verdict.match(/line (\d+)/)?.[1];
  return `<div class="explain" id="explain-${esc(r.backend)}"><strong>${esc(r.backend)} ${esc(r.verdict)}</strong>${line ? ` — ${esc(ref.backend)} printed <code>${esc(quoteLine(r.expected))}</code>, ${esc(r.backend)} printed <code>${esc(quoteLine(r.actual))}</code>` : ""}; it ended with <code>${esc(r.ending)}</code> (${esc(ref.backend)}: <code>${esc(ref.ending)}</code>).<br>${esc(why)}<br><span class="note">${esc(r.backend)}: ${esc(r.description)}</span></div>`;
}

/** A console's size for its summary: lines, a last one without its newline counted too (a guest may print no newline at all). */
function consoleSize(text: string): string {
  const lines = text === "" ? 0 : text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
  return `${fmt(lines)} line${lines === 1 ? "" : "s"}${lines === 1 && text.length > 80 ? `, ${fmt(text.length)} characters` : ""}`;
}

function renderRun(): void {
  const panel = $("panel-run");
  if (!runRows) {
    panel.innerHTML = built?.ok ? `${runError ? `<p class="explain" id="run-error">${esc(runError)}</p>` : ""}<p class="note">Run the matrix: the same binary on every back end, compared with bare metal.</p><button id="run-here">Run the matrix</button>` : `<p class="note">Build the program first.</p>`;
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
      (r) => `<tr data-backend="${esc(r.backend)}"><td>${esc(r.backend)}</td><td class="verdict ${r.divergent ? "diverged" : r.verdict === "reference" ? "reference" : "same"}">${esc(r.verdict)}</td><td title="${esc(r.ending)}">${esc(r.endingShort)}</td>
<td class="num">${fmt(r.cycles)}</td><td class="num">${r.overhead.toFixed(2)}×</td><td class="num">${fmt(r.exits)}</td><td class="num">${fmt(r.hypercalls)}</td><td class="num">${fmt(r.ipcs)}</td><td class="num">${fmt(r.traps)}</td><td class="num">${r.sites.inline ?? 0}/${r.sites.call ?? 0}/${r.sites.stub ?? 0}</td></tr>`,
    )
    .join("")}</tbody></table></div>`;
  const { svg, legend } = breakdownChart(rows);
  const o = runOptions;
  const options = `<p class="note" id="run-options">${esc(runOptionsText(o))} (previrt matrix${o.cpus !== 1 ? ` --cpus ${o.cpus}` : ""}${o.pcpus !== undefined ? ` --pcpus ${o.pcpus}` : ""}${o.protect ? "" : " --no-protect"}${maxCyclesFlag(o, rows.some((r) => r.atLimit))}).</p>${rows
    .filter((r) => r.note)
    .map((r) => `<p class="note" data-note="${esc(r.backend)}">${esc(r.note!)}</p>`)
    .join("")}`;
  const cpuCount = Math.max(0, ...rows.map((r) => r.perCpu?.length ?? 0));
  const perCpu = cpuCount
    ? `<h2>Cycles per CPU</h2><div class="table-wrap"><table id="per-cpu"><thead><tr><th>back end</th>${Array.from({ length: cpuCount }, (_, i) => `<th class="num">cpu ${i}</th>`).join("")}</tr></thead><tbody>${rows
        .map((r) => `<tr data-backend="${esc(r.backend)}"><td>${esc(r.backend)}</td>${(r.perCpu ?? []).map((c) => `<td class="num" title="${fmt(c.instructions)} instructions, idle ${fmt(c.idle)}, descheduled ${fmt(c.descheduled)}">${fmt(c.cycles)}</td>`).join("")}</tr>`)
        .join("")}</tbody></table></div><p class="note">Each CPU's clock when the run ended (the matrix's cycles are the largest); hover for its instructions, idle cycles, and cycles descheduled by the hypervisor's time-slicing.</p>`
    : "";
  const guarded = rows.filter((r) => r.protection);
  const protection = guarded.length
    ? `<h2>The in-place VMM's protection domain</h2><div class="table-wrap"><table id="protection"><thead><tr><th>back end</th><th class="num">checks</th><th class="num">PLB misses</th><th class="num">extra refs</th></tr></thead><tbody>${guarded
        .map((r) => `<tr data-backend="${esc(r.backend)}"><td>${esc(r.backend)}</td><td class="num">${fmt(r.protection!.checks)}</td><td class="num">${fmt(r.protection!.plbMisses)}</td><td class="num">${fmt(r.protection!.extraRefs)}</td></tr>`)
        .join("")}</tbody></table></div><p class="note">Loads and stores checked against the domains, protection-lookaside-buffer misses, and the permissions-table references they cost (docs/protection.md).</p>`
    : "";
  const consoles = rows
    .map((r) => `<details${r.divergent ? " open" : ""}><summary>${esc(r.backend)} console (${consoleSize(r.console)})</summary><pre class="listing console" data-backend="${esc(r.backend)}">${esc(r.console)}</pre></details>`)
    .join("");
  panel.innerHTML = `<h2>The matrix</h2>${options}${table}${perCpu}${protection}${rows.filter((r) => r.divergent).map((r) => explainDivergence(r, ref)).join("")}${explainStops(rows)}
<h2>Simulated cycles vs ${esc(ref.backend)}</h2>${overheadChart(rows)}
<h2>Where the cycles go</h2>${legend}${svg}
<p class="note">Cycles are the emulated machine's cost model (docs/cost-model.md): each priced event (VM exit, hypercall, IPC, exception entry, …) times its price; "instructions" is the rest.</p>
<h2>Consoles</h2>${consoles}`;
}

// ------------------------------------------------------------------ step

/** Quanta the Step view offers for several CPUs: the default (the Run view's runs) down to one cycle (CPUs interleave instruction by instruction). */
const QUANTUM_CHOICES = [10_000, 1_000, 100, 1];
const DEFAULT_QUANTUM = QUANTUM_CHOICES[0];

/** The stepping machine's options: the header's, pcpus left out on bare (which refuses it, as in the Run view). */
function stepOptions(): StepOptions {
  const pcpus = stepBackend === "bare" ? undefined : runOptions.pcpus;
  return {
    cpus: runOptions.cpus,
    ...(pcpus !== undefined ? { pcpus } : {}),
    protect: runOptions.protect,
    ...(runOptions.maxCycles !== undefined ? { maxCycles: runOptions.maxCycles } : {}),
    ...(runOptions.cpus > 1 && stepQuantum !== DEFAULT_QUANTUM ? { quantum: stepQuantum } : {}),
  };
}

function stepOptionsNote(): string {
  const o = stepOptions();
  if (o.cpus === 1) return "";
  return `<p class="note" id="step-smp-note">${o.cpus} CPUs${o.pcpus !== undefined ? ` on ${o.pcpus} physical` : ""} (the header's options). A step is one epoch of the machine's schedule: every CPU runs up to the next multiple of the quantum, ${
    stepQuantum === 1 ? "here one cycle, so each CPU runs about one instruction per step" : `${fmt(stepQuantum)} cycles`
  }${stepQuantum === DEFAULT_QUANTUM ? " — the schedule of the Run view's runs" : ` (previrt run --cpus ${o.cpus} --quantum ${stepQuantum})`}. Pick a CPU to see its registers and virtual CPU.</p>`;
}

function quantumControl(): string {
  if (runOptions.cpus === 1) return "";
  return `<label title="the interleaving quantum (--quantum): a step runs every CPU up to its next multiple">quantum <select id="step-quantum">${QUANTUM_CHOICES.map((q) => `<option value="${q}"${q === stepQuantum ? " selected" : ""}>${fmt(q)}${q === DEFAULT_QUANTUM ? " (as Run)" : ""}</option>`).join("")}</select></label>`;
}

function wireStepStart(): void {
  const restart = () => void stepCall({ op: "step-start", backend: stepBackend, options: stepOptions() });
  $("step-hv").addEventListener("change", (e) => {
    stepBackend = (e.target as HTMLSelectElement).value;
    scheduleUrl();
    if ($("panel-step").dataset.started) restart();
  });
  document.getElementById("step-quantum")?.addEventListener("change", (e) => {
    stepQuantum = Number((e.target as HTMLSelectElement).value);
    scheduleUrl();
    if ($("panel-step").dataset.started) restart();
  });
  $("step-start").addEventListener("click", restart);
}

function renderStepIdle(): void {
  const panel = $("panel-step");
  if (panel.dataset.started === String(generation) && panel.dataset.builtFor === String(buildCount) && panel.dataset.options === JSON.stringify(stepOptions())) return;
  panel.dataset.started = "";
  panel.innerHTML = `<div class="controls"><label>back end <select id="step-hv">${BACKENDS.map((b) => `<option${b === stepBackend ? " selected" : ""}>${b}</option>`).join("")}</select></label>
${quantumControl()}<button id="step-start">Start</button></div>${stepOptionsNote()}<p class="note">Start a machine on the chosen back end (the program rewritten for it, as the loader does) and step it one instruction at a time${runOptions.cpus > 1 ? " (with several CPUs: one epoch at a time)" : ""}.</p>`;
  wireStepStart();
}

let buildCount = 0;

async function stepCall(req: Body<Request>): Promise<void> {
  const epoch = resultsEpoch;
  const reply = await call(req);
  // A machine of another program or other options (changed while it ran): not shown under the new ones.
  if (epoch !== resultsEpoch) return;
  if (reply.op === "step") renderStep(reply.state);
  else if (reply.op === "error") status(reply.message, true);
}

const PSR_BITS = (psr: number) => `${psr & PSR.SU ? "SU" : "user"}${psr & PSR.IE ? " IE" : ""}`;

function renderStep(s: StepState): void {
  const panel = $("panel-step");
  panel.dataset.started = String(generation);
  panel.dataset.builtFor = String(buildCount);
  panel.dataset.options = JSON.stringify(stepOptions());
  const names = ABI_NAMES;
  const crNames = CR_NAMES;
  const smp = s.cpus.length > 1;
  const regs = `<table class="regs" id="regs"><tbody>${[0, 4, 8, 12]
    .map((r) => `<tr>${[0, 1, 2, 3].map((c) => `<td>${names[r + c]}</td><td>${hex(s.regs[r + c])}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
  const crs = (cr: number[]) => `<table class="regs"><tbody><tr>${cr.map((v, i) => `<td>${crNames[i]}</td><td>${hex(v)}</td>${i % 4 === 3 ? "</tr><tr>" : ""}`).join("")}</tr></tbody></table>`;
  const siteOptions = s.sites.map((x) => `<option value="${x.addr}">${esc(x.label)}</option>`).join("");
  const unit = smp ? "epoch" : "instruction";
  const cpuTable = smp
    ? `<div class="table-wrap"><table id="step-cpus"><thead><tr><th>CPU</th><th>state</th><th>pc</th><th>psr</th><th class="num">cycles</th><th class="num">instructions</th><th></th></tr></thead><tbody>${s.cpus
        .map(
          (c, n) =>
            `<tr data-cpu="${n}"${n === s.cpu ? ' class="viewed"' : ""}><td>cpu ${n}</td><td>${esc(c.state)}</td><td class="mono">${c.state === "stopped" ? "—" : hex(c.pc)}</td><td class="mono">${hex(c.psr)} (${PSR_BITS(c.psr)})</td><td class="num">${fmt(c.cycles)}</td><td class="num">${fmt(c.instructions)}</td><td><button data-view-cpu="${n}" aria-pressed="${n === s.cpu}">view</button></td></tr>`,
        )
        .join("")}</tbody></table></div>`
    : "";
  panel.innerHTML = `<div class="controls"><label>back end <select id="step-hv">${BACKENDS.map((b) => `<option${b === s.backend ? " selected" : ""}>${b}</option>`).join("")}</select></label>
${quantumControl()}<button id="step-start">Restart</button><button id="step-1" title="one ${unit}${smp ? " (every CPU up to the next multiple of the quantum)" : " (or exception entry)"}">Step</button><button id="step-100" title="100 ${unit}s">Step 100</button>
${s.sites.length ? `<label>site <select id="step-site">${siteOptions}</select></label><button id="step-to">Run to site</button>` : ""}<button id="step-run">Run to end</button></div>
${stepOptionsNote()}${s.note ? `<p class="note" id="step-note">${esc(s.note)}</p>` : ""}${s.atLimit ? `<p class="explain" id="step-limit">Stopped at ${limitText(runOptions)}: the guest had not powered off by then (previrt run has no limit unless given --max-cycles). The last instructions below show where it was.</p>` : ""}
${cpuTable}
<p class="mono" id="step-where">${esc(s.backend)}${smp ? ` · cpu ${s.cpu} (${esc(s.cpus[s.cpu].state)})` : ""} · pc ${hex(s.pc)} · psr ${hex(s.psr)} (${PSR_BITS(s.psr)}) · cycles ${fmt(s.cycles)} · instructions ${fmt(s.instructions)}${s.ended ? ` · <strong>ended: ${esc(s.ended)}</strong>` : ""}</p>
<div class="grid2"><div><h3>at pc${smp ? ` (cpu ${s.cpu})` : ""}</h3><pre class="listing" id="step-around">${s.around.map(esc).join("\n")}</pre></div>
<div><h3>last instructions${smp ? ` (cpu ${s.cpu})` : ""}</h3><pre class="listing" id="step-last">${s.last.map(esc).join("\n") || "(none yet)"}</pre></div></div>
<h3>registers${smp ? ` (cpu ${s.cpu})` : ""}</h3>${regs}<h3>control registers (real${smp ? `, cpu ${s.cpu}` : ""})</h3>${crs(s.cr)}
${s.virtual ? `<h3>virtual CPU${smp ? ` ${s.cpu}` : ""} (what the guest kernel believes)</h3><p class="mono" id="step-virtual">psr ${hex(s.virtual.psr)} (${PSR_BITS(s.virtual.psr)})</p>${crs(s.virtual.cr)}` : `<p class="note">${s.backend === "bare" ? "bare metal: no virtual CPU, the kernel owns the real one" : `${esc(s.backend)}: the guest runs on the real registers (a virtual CPU shows here once the monitor keeps some apart: hvm's ptbr and pgctl when paging is on); the VMM intercepts every sensitive instruction`}</p>`}
${s.window ? `<h3>soft-layer window (data the in-place VMM shares)</h3><div class="table-wrap"><table class="regs" id="step-window"><tbody>${s.window.map((w) => `<tr><td>${esc(w.name)}</td><td>${hex(w.addr)}</td><td>${Number.isNaN(w.value) ? "unmapped" : hex(w.value)}</td></tr>`).join("")}</tbody></table></div>` : ""}
<h3>console</h3><pre class="listing" id="step-console">${esc(s.console)}</pre>`;
  wireStepStart();
  $("step-1").addEventListener("click", () => void stepCall({ op: "step", count: 1 }).then(() => $("step-1").focus()));
  $("step-100").addEventListener("click", () => void stepCall({ op: "step", count: 100 }).then(() => $("step-100").focus()));
  $("step-run").addEventListener("click", () => void stepCall({ op: "step-run" }));
  panel.querySelectorAll<HTMLButtonElement>("[data-view-cpu]").forEach((b) =>
    b.addEventListener("click", () => {
      const cpu = Number(b.dataset.viewCpu);
      void stepCall({ op: "step-view", cpu }).then(() => document.querySelector<HTMLButtonElement>(`[data-view-cpu="${cpu}"]`)?.focus());
    }),
  );
  panel.querySelector("#step-to")?.addEventListener("click", () => {
    const addr = Number(($("step-site") as HTMLSelectElement).value);
    void stepCall({ op: "step-to", addr }).then(() => {
      const sel = document.getElementById("step-site") as HTMLSelectElement | null;
      if (sel) sel.value = String(addr);
    });
  });
}

// ------------------------------------------------------------------ migrate

/** xen → hvm by default: every site changes (calls into the in-place VMM back to the native instructions). */
const MIGRATE_DEFAULT = { from: "xen", to: "hvm" };
/** The view's own choices; the run options (CPUs, physical CPUs, protection, cycle limit) are the header's and the link's, added at each move (moveOptions). */
type MigrateChoice = Omit<MigrateOptions, "cpus" | "pcpus" | "protect" | "maxCycles">;
let migrateOptions: MigrateChoice = { ...MIGRATE_DEFAULT, live: true };

/** The move's options: the view's choices with the header's run options, as `migrate --cpus N --pcpus M --no-protect --max-cycles N` takes them. */
function moveOptions(): MigrateOptions {
  return { ...migrateOptions, cpus: runOptions.cpus, ...(runOptions.pcpus !== undefined ? { pcpus: runOptions.pcpus } : {}), protect: runOptions.protect, ...(runOptions.maxCycles !== undefined ? { maxCycles: runOptions.maxCycles } : {}) };
}
let migrated: MigrateReply | undefined;

function renderMigrateControls(): string {
  const o = migrateOptions;
  const pick = (id: string, v: string) => `<select id="${id}">${BACKENDS.map((b) => `<option${b === v ? " selected" : ""}>${b}</option>`).join("")}</select>`;
  return `<div class="controls"><label>from ${pick("mig-from", o.from)}</label><label>to ${pick("mig-to", o.to)}</label>
<label title="the cycle to move at: the first safe point at or after it (--at)">at cycle <input id="mig-at" type="number" min="0" step="1" inputmode="numeric" placeholder="half of bare's run" value="${o.at ?? ""}"></label>
<label>mode <select id="mig-mode"><option value="stop"${o.live ? "" : " selected"}>stop-and-copy</option><option value="live"${o.live ? " selected" : ""}>live (pre-copy)</option></select></label>
<button id="mig-go">Migrate</button></div>`;
}

function readMigrateControls(): void {
  const at = ($("mig-at") as HTMLInputElement).value.trim();
  const n = Number(at);
  migrateOptions = {
    from: ($("mig-from") as HTMLSelectElement).value,
    to: ($("mig-to") as HTMLSelectElement).value,
    ...(at !== "" && Number.isSafeInteger(n) && n >= 0 ? { at: n } : {}),
    live: ($("mig-mode") as HTMLSelectElement).value === "live",
  };
  scheduleUrl();
}

async function runMigration(): Promise<void> {
  if (!built?.ok) return;
  readMigrateControls();
  status(`migrating ${migrateOptions.from} → ${migrateOptions.to}…`);
  migrated = undefined;
  migrateError = undefined;
  const epoch = resultsEpoch;
  underway++;
  const reply = await call({ op: "migrate", options: moveOptions() }).finally(() => underway--);
  if (epoch !== resultsEpoch) return;
  if (reply.op === "migrate") {
    migrated = reply.migrate;
    status(`migrated in ${(migrated.ms / 1000).toFixed(2)} s: ${migrated.report.migrated ? `downtime ${fmt(migrated.report.downtimeCycles)} cycles` : "the guest ended first"}; console ${migrated.divergent ? "differs from" : migrated.atLimit ? "so far equals" : "equals"} bare's`);
  } else if (reply.op === "error") {
    migrateError = reply.message;
    status(reply.message, true);
  }
  renderMigrate();
  $("mig-go")?.focus();
}

/** Why a guest was not moved (report.ts formatReport's reasons): it ended before the point, or once live pre-copy had begun. */
function notMoved(r: MigrateReply["report"]): string {
  const ended = `the guest ended at cycle ${fmt(r.stoppedAt)}`;
  if (r.precopyStart === undefined) return `${ended}, before cycle ${fmt(r.at)}`;
  return `${ended}, during live pre-copy (${r.rounds.length} round${r.rounds.length === 1 ? "" : "s"} from cycle ${fmt(r.precopyStart)}), before it could be stopped and moved`;
}

/** Frame numbers as page addresses, runs of consecutive frames as ranges. */
function frameList(frames: readonly number[], max = 48): string {
  const sorted = [...frames].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    const page = (f: number) => "0x" + (f * 4096).toString(16);
    parts.push(j > i ? `${page(sorted[i])}–${page(sorted[j])}` : page(sorted[i]));
    i = j + 1;
  }
  return parts.length > max ? `${parts.slice(0, max).join(" ")} … (${parts.length - max} more)` : parts.join(" ") || "none";
}

function renderMigrate(): void {
  const panel = $("panel-migrate");
  if (!built?.ok) {
    panel.innerHTML = `<p class="note">Build the program first.</p>`;
    return;
  }
  const head = `${renderMigrateControls()}<p class="note">Runs the guest on one back end, stops it at a safe point and moves it to another — its sites re-patched for the target, its virtual CPU carried in the neutral form — then finishes it there (docs/migration.md). Live migration copies memory in rounds while the guest runs; stop-and-copy copies it all while the guest waits. The header's run options apply: ${esc(runOptionsText(runOptions))}.</p>`;
  const m = migrated;
  let body = migrateError ? `<p class="explain" id="mig-error">${esc(migrateError)}</p>` : "";
  if (m) {
    const r = m.report;
    const o = m.options;
    const cli = `previrt migrate prog.elf --from ${o.from} --to ${o.to} --at ${o.at}${o.live ? " --live" : ""}${o.cpus > 1 ? ` --cpus ${o.cpus}` : ""}${o.pcpus !== undefined ? ` --pcpus ${o.pcpus}` : ""}${o.protect ? "" : " --no-protect"}${maxCyclesFlag(o, m.atLimit)}`;
    const facts: [string, string][] = r.migrated
      ? [
          ["moved at cycle", `${fmt(r.stoppedAt)}${r.deferredSteps ? ` (${r.deferredSteps} ${r.deferredUnit ?? "instruction"}${r.deferredSteps === 1 ? "" : "s"} past ${fmt(o.at)}: ${r.deferredBecause ?? ""})` : ""}`],
          ["pages sent", `${fmt(r.totalPages)}`],
          ["downtime", `${fmt(r.downtimeCycles)} cycles (${pages(r.downtimePages)}, state included)`],
          ...(r.mode === "live"
            ? ([
                ["stop-and-copy from the same point", `${fmt(r.stopAndCopy.downtimeCycles)} cycles (${pages(r.stopAndCopy.pages)}): live stops the guest ${(r.downtimeCycles / Math.max(1, r.stopAndCopy.downtimeCycles)).toFixed(2)}× as long`],
                ["migration from start to running on the target", `${fmt(r.totalCycles)} cycles`],
              ] as [string, string][])
            : []),
          ["sites re-patched", String(r.sitesRepatched)],
        ]
      : [["not moved", notMoved(r)]];
    facts.push(["console and ending against bare's unmigrated run", `<span id="mig-verdict" class="${m.divergent ? "diverged" : "same"}">${esc(m.verdict)}</span>${m.divergent ? "" : m.atLimit ? " — the same output as far as the runs went: the playground's cycle limit stopped one (below)" : " — the moved guest printed what bare printed and ended as bare did"}`]);
    facts.push(["cycles", `${fmt(m.cycles)} (bare: ${fmt(m.bare.cycles)}); ended ${esc(m.ending)} (bare: ${esc(m.bare.ending)})${m.atLimit ? ` — stopped at ${limitText(o)}: the guest had not powered off by then (previrt migrate has no limit unless given --max-cycles)` : ""}`]);
    const factTable = `<div class="table-wrap"><table id="mig-facts"><tbody>${facts.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${k.startsWith("console") || k === "cycles" ? v : esc(v)}</td></tr>`).join("")}</tbody></table></div>`;
    const rounds = r.mode === "live" && r.rounds.length
      ? `<h2>Pre-copy rounds</h2>${roundsChart(r.rounds.map((x) => x.pages), r.downtimePages, r.stopAndCopy.pages)}<div class="table-wrap"><table id="mig-rounds"><thead><tr><th>round</th><th class="num">pages sent</th><th class="num">cycles</th><th class="num">dirtied</th><th>dirty set (pages written during the round)</th></tr></thead><tbody>${r.rounds
          .map((x, i) => `<tr><td>${i + 1}</td><td class="num">${fmt(x.pages)}</td><td class="num">${fmt(x.cycles)}</td><td class="num">${fmt(x.dirtied)}</td><td class="mono">${esc(frameList(m.dirty[i] ?? []))}</td></tr>`)
          .join("")}<tr class="stop"><td>stop</td><td class="num">${fmt(r.downtimePages)}</td><td class="num">${fmt(r.downtimeCycles)}</td><td></td><td class="note">the last dirty pages and one page of CPU, device and virtual-CPU state, sent while the guest is stopped: the downtime</td></tr></tbody></table></div>
<p class="note">Round 1 sends every non-zero page of guest memory; each later round sends what the guest dirtied during the one before (the machine's dirty log). When pre-copy stops and the guest is stopped is the library's rule (docs/migration.md, live migration).</p>`
      : "";
    const changed = m.sites.filter((x) => x.changed).length;
    const sites = m.sites.length
      ? `<h2>Re-patched sites</h2><p class="note">At the move every site is put back to the binary's original words and rewritten for ${esc(o.to)}, as the loader would have: ${m.sites.length} sites, ${changed} of them with other words on ${esc(o.to)}.</p><details${m.sites.length <= 40 ? " open" : ""}><summary>the ${m.sites.length} sites</summary><div class="table-wrap"><table id="mig-sites"><thead><tr><th>address</th><th>kind</th><th>on ${esc(o.from)}</th><th></th><th>on ${esc(o.to)}</th><th></th></tr></thead><tbody>${m.sites
          .map((x) => `<tr${x.changed ? ' class="changed"' : ""}><td class="mono">${hex(x.addr)}</td><td>${esc(x.kind)}</td><td class="strategy-${esc(x.from.strategy)}">${esc(x.from.strategy)}</td><td><pre>${x.from.words.map(esc).join("\n")}</pre></td><td class="strategy-${esc(x.to.strategy)}">${esc(x.to.strategy)}</td><td><pre>${x.to.words.map(esc).join("\n")}</pre></td></tr>`)
          .join("")}</tbody></table></div></details>`
      : r.migrated
        ? `<p class="note">No site re-patched: ${o.from === o.to ? "the same back end resumes cycle-exactly from the monitor's own state" : "the binary has no sites"}.</p>`
        : "";
    // Inline, where the move fell: a guest may be stopped in the middle of printing a line.
    const marker = r.migrated ? `<mark class="moved" title="the guest stopped here on ${esc(o.from)} and went on on ${esc(o.to)}">⟨moved ${esc(o.from)} → ${esc(o.to)} at cycle ${fmt(r.stoppedAt)}⟩</mark>` : "";
    body = `<h2>${esc(o.from)} → ${esc(o.to)}, ${o.live ? "live" : "stop-and-copy"}</h2><pre class="explain-ok mono" id="mig-report">${esc(cli)}\n${esc(m.reportText)}</pre>${factTable}${rounds}${sites}
<h2>Console</h2><div class="grid2"><div><h3>migrated (${esc(o.from)}, then ${esc(o.to)})</h3><pre class="listing console" id="mig-console">${esc(m.consoleBefore)}${marker}${esc(m.consoleAfter)}</pre></div><div><h3>bare, not migrated</h3><pre class="listing console" id="mig-bare-console">${esc(m.bare.console)}</pre></div></div>`;
  }
  panel.innerHTML = head + body;
  $("mig-go").addEventListener("click", () => void runMigration());
  for (const id of ["mig-from", "mig-to", "mig-at", "mig-mode"]) $(id).addEventListener("change", readMigrateControls);
  $("mig-at").addEventListener("keydown", (e) => {
    if (e.key === "Enter") void runMigration();
  });
}

function renderAll(): void {
  renderBuild();
  renderSites();
  renderRun();
  renderMigrate();
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
  $("link-notice").hidden = true; // about the link, not this sample
  loadSample(findSample(select.value) ?? SAMPLES[0]);
  void buildAndMaybeRun(false);
});
$("build").addEventListener("click", () => void buildAndMaybeRun(false));
for (const id of ["cpus", "pcpus", "protect"]) $(id).addEventListener("change", changeRunOptions);
$("run").addEventListener("click", () => void buildAndMaybeRun(true));
$("share").addEventListener("click", () => {
  history.replaceState(null, "", currentUrl());
  void navigator.clipboard?.writeText(location.href).catch(() => {});
  status("the link to this program is in the address bar (and the clipboard)");
});
document.addEventListener("keydown", (e) => {
  if (e.defaultPrevented) return; // the editor's keymap took it (above)
  if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
    e.preventDefault();
    void buildAndMaybeRun(true);
  } else if ((e.ctrlKey || e.metaKey) && e.key === "s") {
    e.preventDefault();
    void buildAndMaybeRun(false);
  }
});

// A link pasted over this page's that differs only in its fragment (the edited text) does not load a new page: load it.
window.addEventListener("hashchange", () => location.reload());

async function start(): Promise<void> {
  const params = new URLSearchParams(location.search);
  // Read as the worker read it (link.ts): it has been building (and with run=1 running) this program since index.html started it.
  const link = linkStart(location.search, location.hash);
  // What the link asked for and did not get, said where it stays (the status line is the build's a moment later).
  const asked = params.get("sample");
  const notices = [
    ...(asked !== null && asked !== link.sample.name ? [`The link names no sample '${asked}': showing ${link.sample.name}.`] : []),
    ...(link.damaged ? [`The link's program text (code=…) is not base64url of UTF-8 text — cut short when it was copied? Showing the sample ${link.sample.name} instead.`] : []),
  ];
  if (notices.length) {
    const notice = $("link-notice");
    notice.textContent = notices.join(" ");
    notice.hidden = false;
  }
  sitesBackend = BACKENDS.includes(params.get("sites") ?? "") ? params.get("sites")! : "xen";
  stepBackend = BACKENDS.includes(params.get("step") ?? "") ? params.get("step")! : "xen";
  runOptions = link.options;
  stepQuantum = QUANTUM_CHOICES.includes(Number(params.get("quantum"))) ? Number(params.get("quantum")) : DEFAULT_QUANTUM;
  const [mfrom, mto] = (params.get("migrate") ?? "").split(",");
  const mat = Number(params.get("at") ?? "");
  migrateOptions = {
    from: BACKENDS.includes(mfrom) ? mfrom : MIGRATE_DEFAULT.from,
    to: BACKENDS.includes(mto) ? mto : MIGRATE_DEFAULT.to,
    ...(params.get("at") !== null && Number.isSafeInteger(mat) && mat >= 0 ? { at: mat } : {}),
    live: params.get("live") !== "0",
  };
  showRunOptions();
  loadSample(link.sample, link.text);
  const wanted = params.get("tab");
  if (wanted && TABS.includes(wanted)) selectTab(wanted);
  // `tab=migrate&run=1` builds and migrates (the matrix is not run); any other `run=1` runs the matrix.
  await buildAndMaybeRun(link.runMatrix);
  if (link.migrate && built?.ok) await runMigration();
  // For the browser test and docs/playground.md's figures: milliseconds from navigation to the first result.
  document.body.dataset.firstResultMs = String(Math.round(performance.now()));
  document.body.dataset.ready = "1";
}

void start();
