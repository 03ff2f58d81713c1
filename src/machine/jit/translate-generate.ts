// The JavaScript code generator of the translator: the blocks of one
// translation → the source of one function, compiled with `new Function`.
//
// Consumes the blocks (translate-blocks.ts), the registers they read and
// write, the cost table and the emit table (translate-emit.ts). Produces the
// compiled function (translation.ts BlockFn) and its size. translate.ts
// calls it for every translation the WebAssembly tier (wasm-blocks.ts) does
// not take, and for that tier's fallback; a self-loop that loads or stores
// calls a WebAssembly loop (wasm-loop.ts) for its iterations. `loopFit`,
// which the generated code calls, is here too.
//
// The blocks become the cases of a `switch` in a loop, so a loop in the
// guest stays a loop in JS; a block that branches to itself becomes two
// nested `for (;;)` (in `generate`, "self-loop"). Registers live in JS
// locals (int32) while the function runs and are written back on every
// exit. Why the code's results are the interpreter's: translate.ts.

import { BY_OPCODE, OP } from "../../guest-isa/isa-table.js";
import { PSR } from "../../guest-isa/registers.js";
import { TRACE_PAIRS } from "../cpu.js";
import { SCRATCH } from "../memory.js";
import { PAGE_MASK, TAG_INVALID, TAG_MASK } from "../mmu/tlb.js";
import { div, divu, mulhu, rem, remu } from "../semantics.js";
import type { Block } from "./translate-blocks.js";
import { BY_OP, imm, LOAD_EXPR, PSR_IE, PSR_SU, reg, STORE_STMT, UF_AND_MODE } from "./translate-emit.js";
import { EXIT, translateOptions, translatorStats, type BlockFn, type Compiled } from "./translation.js";
import { loopLinker, loopRegisters, stepCode, storeCode, type Linker } from "./wasm-loop.js";

/** The trace ring (cpu.ts): pairs, and the mask of its word index. */
const TRACE_MASK = TRACE_PAIRS * 2 - 1;

/**
 * Pages seen. A call remembers the virtual page of its last load whose fast
 * read tag matched (pr) and of its last store whose fast write tag matched
 * (pw), with their TLB addends: an access to the same page, aligned, needs
 * the same look-up with the same answer, because nothing the translation
 * runs changes the TLB (the tags come in per call: mode, CPU), nor the
 * code-page marks (only the cache, between calls, sets them). So the next
 * access compares with the remembered page instead of loading the tag and
 * the addend. A page holding translations is never remembered for stores:
 * each of its stores makes the full look-up, writes, and exits (EXIT.STORE).
 * NO_PAGE (the TLB's TAG_INVALID, bits 2–11 set) equals no masked address.
 */
const NO_PAGE = TAG_INVALID;

/**
 * Copies of a self-loop's body (ending in a branch back) in its inner loop,
 * each followed by the iteration's own check: the back edge — V8's stack
 * check, the moves of its spilled values — then comes once per UNROLL
 * iterations. Against one copy, interleaved at load 11: (a) 1.17–1.21×,
 * (b) 0.94–1.14×, (d) 1.06–1.28× (4 copies: no better than 2). Each copy's
 * page look-ups are sites of their own, so one whose look-up first misses
 * after the compile deoptimizes the function once ((b) in its second run).
 */
const UNROLL = 2;

/** The most iterations a self-loop runs between two limit checks (keeps its counter an int32). */
const LOOP_CAP = 0x3fff_ffff;

/**
 * The JavaScript of a translation of `blocks` (in address order, `byStart`
 * by offset), compiled: registers `used` are loaded into locals, those
 * `written` stored back on every exit.
 */
export function generate(blocks: readonly Block[], byStart: ReadonlyMap<number, Block>, used: ReadonlySet<number>, written: ReadonlySet<number>, cost: Float64Array, loops = translateOptions.wasm): Compiled {
  const out: string[] = [];
  const regs = [...used].sort((x, y) => x - y);
  const writeBack = [...written].sort((x, y) => x - y).map((r) => `H[${r}] = r${r};`).join(" ");
  // Exits only assign a constant (the row of the exit table XT: pc as an offset from the page
  // base, the exit code, the cycles and instructions of the block's executed part): a path V8
  // never saw run then needs no type feedback, so taking it for the first time does not deoptimize
  // the function. The epilogue does the arithmetic.
  const xt: number[] = [];
  const exitRow = new Map<string, number>();
  // Inside a self-loop's body: what its exits set first, so that the epilogue settles its pending
  // iterations (see "Pending work"). In the loop itself lf, lt, lc and lm are dead: the check at
  // its top uses the constants, and V8 has four fewer values to keep in registers across it.
  let loopPending = "";
  let bodyAt = 0;
  const rowOf = (off: number, code: number, c = 0, k = 0) => {
    const key = `${off},${code},${c},${k}`;
    let row = exitRow.get(key);
    if (row === undefined) {
      row = xt.length >> 2;
      exitRow.set(key, row);
      xt.push(off, code, c, k);
    }
    return row;
  };
  const exit = (off: number, code: number, c = 0, k = 0) => `{ ${loopPending}q = ${rowOf(off, code, c, k)}; break out; }`;
  // The WebAssembly tier's loops (wasm-loop.ts): their linkers, each called through a local wN.
  const linkers: Linker[] = [];
  const wasmCodes: Int32Array[] = [];
  const pcAt = (off: number) => `(vb + ${off}) | 0`;
  const charge = (c: number, k: number) => (k ? `cyc += ${c}; n += ${k}; ` : "");
  const traced = (from: string, to: string) => `H[(T + tr) | 0] = ${from}; H[(T + tr + 1) | 0] = ${to}; tr = (tr + 2) & ${TRACE_MASK};`;
  // A block that branches to itself (a self-loop) becomes two nested JS loops:
  //
  //   lpN: for (;;) {                       // once per K iterations
  //     charge lk iterations; write lk - E pairs; lk = 0;  // the iterations run since the last check
  //     if (E) break lpN;                   // the last one did not take the back edge
  //     if (!(cyc + X < limit)) exit LIMIT; // the interpreter's check, as every other block makes
  //     K = loopFit(cyc, X, C, limit);      // how many iterations from here pass that check
  //     for (;;) { body; lk++; if (!taken) { E = 1; break; } if (lk >= K) break; }
  //   }
  //   E = 0; go on.
  //
  // The inner loop touches only the guest's registers and lk: an iteration charges no cycles
  // and writes no trace pair, it counts itself in lk (lf, lt: the pair's offsets, lc, lm: the
  // block's cycles and instructions). Whoever leaves adds lk iterations' cycles and
  // instructions and writes the pairs (the check at the top; the epilogue for exits from the
  // body, `settle`). k
  // writes of one pair leave the last min(k, 32) slots holding it and the index 2k further on:
  // the ring is the interpreter's. An iteration skips the limit check only where loopFit proved
  // it passes (the same integers, the same comparison), so the block stops at exactly the
  // iteration the interpreter's check would stop it. The same loop with the check, the charge
  // and the counter inside one `for` ran the ALU loop 2.7× slower (V8 kept the cold paths'
  // state live across the hot one).
  //
  // Pending work, and why cold paths do none. A path TurboFan compiled before it ever ran (the
  // way out of a loop that runs for a whole call, the other side of a branch) has no type
  // feedback; an arithmetic operation, typed-array access or call there deoptimizes the whole
  // function the first time it runs, and V8 then interprets it until a new compile lands
  // (tens to hundreds of ms on this machine: in the bench, the load/store loop deoptimized at
  // the end of every run). So such paths only assign constants and jump; the work they imply
  // is left pending in (lk, lf, lt, lc, lm) — lk times the trace pair (vb + lf, vb + lt), each
  // time lc cycles and lm instructions — and done by code every call runs: `settle`, at the
  // top of the dispatch loop, at each check of a self-loop and in the epilogue. A taken branch
  // between blocks leaves its pair (lk = 1, lc = lm = 0, its block charged already); the last
  // iteration of a self-loop counts itself in lk and sets E, and the check takes the pair of
  // that not-taken back edge off again (lk - E).
  // The pairs are written by a loop that runs at least once: with lk = 0 its one pass stores
  // back the words it read, so the places that run it unconditionally (the check of a
  // self-loop, which every entry into the loop passes, and the epilogue) have run every
  // operation in it before TurboFan compiles them, even when it compiles on the first call
  // (on-stack replacement in a long loop).
  const pairsOf = (f: string, t: string) => `x = (vb + ${f}) | 0; y = (vb + ${t}) | 0; j = lk < ${TRACE_PAIRS} ? lk : ${TRACE_PAIRS}; z = tr; do { o = H[(T + z) | 0]; H[(T + z) | 0] = j > 0 ? x : o; o = H[(T + z + 1) | 0]; H[(T + z + 1) | 0] = j > 0 ? y : o; z = (z + 2) & ${TRACE_MASK}; j = (j - 1) | 0; } while (j > 0); tr = (tr + ((lk & ${TRACE_PAIRS - 1}) << 1)) & ${TRACE_MASK};`;
  const tracePairs = pairsOf("lf", "lt");
  const settleAlways = `cyc += lk * lc; n += lk * lm; ${tracePairs} lk = 0;`;
  const settle = `if (lk !== 0) { ${settleAlways} }`;
  /** A conditional branch's taken side: its pair, pending (constants only, see above). */
  const pend = (from: number, to: number) => `lf = ${from}; lt = ${to}; lk = 1; lc = 0; lm = 0;`;

  out.push(`let ${regs.map((r) => `r${r} = H[${r}] | 0`).concat("cyc = +cpu.cycles", "n = +cpu.instret", "tr = cpu.traceIdx | 0", "q = 0", "L = block | 0").join(", ")};`);
  out.push(`out: for (;;) { ${settle} switch (L) {`);
  for (const b of blocks) {
    const m = b.words.length;
    // before[k]: the cost of the block's first k instructions
    const before = [0];
    for (const w of b.words) before.push(before[before.length - 1] + cost[w & 63]);
    const selfLoop = b.terminated && (() => {
      const w = b.words[m - 1];
      const off = b.start + (m - 1) * 4;
      const k = BY_OP[w & 63]!.kind;
      return (k === "branch" && off + ((w >> 14) << 2) === b.start) || (k === "jal" && off + ((w >> 10) << 2) === b.start);
    })();
    const goTo = (t: number): string => {
      if (t >= 0 && t < 4096) {
        const tb = byStart.get(t);
        // The next case in the switch: fall into it (a self-loop leaves from after its loops).
        if (tb && tb.id === b.id + 1) return "";
        if (tb) return `{ L = ${tb.id}; continue out; }`;
      }
      return exit(t, EXIT.NEXT);
    };
    const loopPc = selfLoop ? b.start + (m - 1) * 4 : 0;
    // The cycle count where the code reads it (hooks): a self-loop's, with its pending iterations.
    const cycNow = selfLoop ? `(cyc + lk * ${before[m]})` : "cyc";
    if (selfLoop) {
      // Every way out of the loop assigns them (constants), so none of them is live in it.
      loopPending = `lf = ${loopPc}; lt = ${b.start}; lc = ${before[m]}; lm = ${m}; `;
      out.push(`case ${b.id}: lp${b.id}: for (;;) {`);
      // The iterations run since the last check; after the last one (E), without its back edge's pair.
      out.push(`cyc += lk * ${before[m]}; n += lk * ${m}; lk = (lk - E) | 0; ${pairsOf(String(loopPc), String(b.start))} lk = 0;`);
      out.push(`if (E !== 0) break lp${b.id};`);
      out.push(`if (!(cyc + ${before[m - 1]} < limit)) ${exit(b.start, EXIT.LIMIT)}`);
      out.push(`K = loopFit(cyc, ${before[m - 1]}, ${before[m]}, limit) | 0;`);
      // Only loops that load or store: V8 runs an ALU-only loop's JavaScript faster than its WebAssembly
      // (machine bench (a), CPU time, alternating: 4,341 against 2,842 MIPS), and their JavaScript has
      // no typed-array access to pay for.
      const linker = loops && b.words.some((x) => BY_OP[x & 63]!.kind === "load" || BY_OP[x & 63]!.kind === "store") ? loopLinker(b.words) : undefined;
      if (linker) {
        // Its codes for the ways out of the body → this function's exit rows.
        const codes = new Int32Array(2 + 2 * m);
        for (let k = 0; k < m - 1; k++) {
          const kind = BY_OP[b.words[k] & 63]!.kind;
          if (kind !== "load" && kind !== "store") continue;
          codes[stepCode(k)] = rowOf(b.start + k * 4, EXIT.STEP, before[k], k);
          if (kind === "store") codes[storeCode(k)] = rowOf(b.start + k * 4 + 4, EXIT.STORE, before[k + 1], k + 1);
        }
        wasmCodes.push(codes);
        // The K iterations in WebAssembly (wasm-loop.ts), over the registers in the heap; then on as
        // after the inner loop below: o 0, K ran; 1, the last did not take the back edge (E); else a way out of the body, mapped to its exit row (WX).
        const w = `w${linkers.length}`;
        linkers.push(linker);
        const { touched, written } = loopRegisters(b.words);
        out.push(`if (${w} === 0) ${w} = WL[${linkers.length - 1}](H, CP);`);
        out.push(`if (${w} !== null) {`);
        // The registers it reads or writes (wasm-loop.ts loads both).
        out.push(touched.map((r) => `H[${r}] = r${r};`).join(" "));
        out.push(`o = ${w}(K, tagR, tagW, ADD, pr, ar, pw, aw, CP.byteOffset) | 0;`);
        out.push(written.map((r) => `r${r} = H[${r}];`).join(" "));
        out.push(`lk = H[${SCRATCH}]; pr = H[${SCRATCH + 1}]; ar = H[${SCRATCH + 2}]; pw = H[${SCRATCH + 3}]; aw = H[${SCRATCH + 4}];`);
        out.push(`if (o > 1) { ${loopPending}q = WX[${linkers.length - 1}][o]; break out; }`);
        out.push(`E = o; continue lp${b.id}; }`);
      }
      out.push("for (;;) {");
      bodyAt = out.length;
    } else {
      out.push(`case ${b.id}: {`);
      out.push(`if (!(cyc + ${before[m - 1]} < limit)) ${exit(b.start, EXIT.LIMIT)}`);
    }
    for (let k = 0; k < m; k++) {
      const w = b.words[k];
      const off = b.start + k * 4;
      const op = w & 63;
      const e = BY_OP[op]!;
      const A = (w >>> 6) & 15, B = (w >>> 10) & 15, C = (w >>> 14) & 15;
      const last = k === m - 1;
      // Checked accesses: after one, the cycles its check charged (a PLB miss) are added, and the
      // interpreter's check before each later instruction of the block is made again — it goes on
      // only while cyc + before[j] < limit, so the block's last instruction decides: if it fails,
      // the block exits before the next instruction (EXIT.LIMIT, everything up to it charged) and
      // the interpreter runs on from there up to the limit. After the block's last instruction the
      // next block's own check (or the engine's loop top) makes it.
      const limitAfter = (j: number) => (j < m - 1 ? `if (!(cyc + ${before[m - 1]} < limit)) ${exit(off + 4, EXIT.LIMIT, before[j + 1], j + 1)}` : "");
      const checkCharge = (j: number) => `x = cpu.checkCharge; if (x !== 0) { cyc += x; ${limitAfter(j)} }`;
      switch (e.kind) {
        case "alu": {
          const x = e.expr!(reg(B), reg(C), w);
          if (A !== 0) out.push(`r${A} = ${x};`);
          break;
        }
        case "load": {
          const size = e.size!;
          const p = "((va + ar) | 0)";
          const load = (at: string) => (A !== 0 ? `r${A} = ${LOAD_EXPR[op](at)};` : `${LOAD_EXPR[op](at)};`);
          // The page of the last load (pr, its addend ar) needs no TLB look-up: see "Pages seen" below.
          out.push(`va = (${reg(B)} + ${imm(w)}) | 0;`);
          if (!selfLoop) {
            out.push(`c${k}: { if ((va & ${TAG_MASK[size]}) !== pr) { s = (va >>> 12) & 1023; if ((va & ${TAG_MASK[size]}) !== H[(tagR + s) | 0]) {`);
            out.push(`p = cpu.checkedAccess(va, ${size}, false, ${pcAt(off)}); if (p < 0) ${exit(off, EXIT.STEP, before[k], k)} ${load("p")} ${checkCharge(k)} break c${k}; }`);
            out.push(`pr = va & ${PAGE_MASK}; ar = H[(ADD + s) | 0]; } ${load(p)} }`);
            break;
          }
          out.push(`if ((va & ${TAG_MASK[size]}) !== pr) { s = (va >>> 12) & 1023; if ((va & ${TAG_MASK[size]}) !== H[(tagR + s) | 0]) ${exit(off, EXIT.STEP, before[k], k)} pr = va & ${PAGE_MASK}; ar = H[(ADD + s) | 0]; }`);
          out.push(load(p));
          break;
        }
        case "store": {
          const size = e.size!;
          // The page of the last store (pw, its addend aw) is writable and holds no translations.
          // A page that holds some is never remembered: its stores look it up, store, and exit.
          out.push(`va = (${reg(B)} + ${imm(w)}) | 0;`);
          if (!selfLoop) {
            // As a load's (above); the charge is in cyc before a STORE exit's row adds the rest.
            out.push(`c${k}: { if ((va & ${TAG_MASK[size]}) !== pw) { s = (va >>> 12) & 1023; if ((va & ${TAG_MASK[size]}) !== H[(tagW + s) | 0]) {`);
            out.push(`p = cpu.checkedAccess(va, ${size}, true, ${pcAt(off)}); if (p < 0) ${exit(off, EXIT.STEP, before[k], k)} ${STORE_STMT[op]("p", reg(A))} cyc += cpu.checkCharge;`);
            out.push(`if (CP[p >>> 12] !== 0) ${exit(off + 4, EXIT.STORE, before[k + 1], k + 1)} ${limitAfter(k)} break c${k}; }`);
          } else out.push(`if ((va & ${TAG_MASK[size]}) !== pw) { s = (va >>> 12) & 1023; if ((va & ${TAG_MASK[size]}) !== H[(tagW + s) | 0]) ${exit(off, EXIT.STEP, before[k], k)}`);
          out.push(`p = (va + H[(ADD + s) | 0]) | 0; if (CP[p >>> 12] !== 0) { ${STORE_STMT[op]("p", reg(A))} ${exit(off + 4, EXIT.STORE, before[k + 1], k + 1)} }`);
          out.push(`pw = va & ${PAGE_MASK}; aw = H[(ADD + s) | 0]; }`);
          out.push(STORE_STMT[op]("((va + aw) | 0)", reg(A)));
          if (!selfLoop) out.push("}");
          break;
        }
        case "amo": {
          // The interpreter's read-modify-write (cpu.ts): the write tag, then old value to rd.
          out.push(`va = (${reg(B)} + ${w >> 18}) | 0; s = (va >>> 12) & 1023;`);
          out.push(`if ((va & ${TAG_MASK[4]}) !== H[(tagW + s) | 0]) ${exit(off, EXIT.STEP, before[k], k)}`);
          out.push(`p = (va + H[(ADD + s) | 0]) | 0; o = H[p >> 2];`);
          out.push(`H[p >> 2] = ${op === 58 ? reg(C) : `(o + ${reg(C)}) | 0`};`);
          if (A !== 0) out.push(`r${A} = o;`);
          out.push(`if (cpu.amoHook !== null) cpu.amoHook(${pcAt(off)}, p >> 2, o, H[p >> 2], ${cycNow} + ${before[k + 1]});`);
          out.push(`if (CP[p >>> 12] !== 0) ${exit(off + 4, EXIT.STORE, before[k + 1], k + 1)}`);
          break;
        }
        case "pause":
          out.push(`cpu.pauses++; if (cpu.pauseHook !== null && cpu.pauseHook(${pcAt(off)}, ${cycNow} + ${before[k + 1]})) ${exit(off + 4, EXIT.NEXT, before[k + 1], k + 1)}`);
          break;
        case "branch": {
          const t = off + ((w >> 14) << 2);
          if (selfLoop) {
            // An iteration charges nothing (lk counts it); the last one, not taking the back edge,
            // leaves through the check at the top of the loop (E), which charges the iterations.
            // Unrolled (UNROLL): the body again after each check; every copy is an iteration of its own.
            const check = `lk = (lk + 1) | 0; if (!(${e.cond!(reg(A), reg(B))})) { E = 1; break; } if (lk >= K) break;`;
            const body = out.slice(bodyAt);
            out.push(check);
            for (let u = 1; u < UNROLL; u++) out.push(...body, check);
            out.push("} }");
            out.push(`E = 0; ${loopPending}${goTo(off + 4)}`);
            break;
          }
          out.push(charge(before[m], m));
          out.push(`if (${e.cond!(reg(A), reg(B))}) { ${pend(off, t)} ${goTo(t) || `{ L = ${b.id + 1}; continue out; }`} }`);
          out.push(goTo(off + 4));
          break;
        }
        case "jal": {
          const t = off + ((w >> 10) << 2);
          if (A !== 0) out.push(`r${A} = ${pcAt(off + 4)};`);
          if (selfLoop) {
            // Left only by the exits of its body.
            out.push(`lk = (lk + 1) | 0; if (lk >= K) break; } }`);
            break;
          }
          out.push(charge(before[m], m));
          out.push(traced(pcAt(off), pcAt(t)));
          out.push(goTo(t));
          break;
        }
        case "sys":
        case "sysret": {
          // The machine's semantics (machine.ts system()); the interpreter's when the monitor asks an exit or (privileged) in user mode.
          const privileged = BY_OPCODE[op]!.privileged;
          out.push(`if (${privileged ? `(cpu.psr & ${PSR_SU}) === 0 || ` : ""}EM[${op}] !== 0) ${exit(off, EXIT.STEP, before[k], k)}`);
          const cr = w >>> 14;
          if (op === OP.cli) out.push(`cpu.psr &= ${~PSR_IE};`);
          else if (op === OP.sti) out.push(`cpu.psr |= ${PSR_IE};`);
          else if (op === OP.mfcr) out.push(A !== 0 ? `r${A} = cpu.cr[${cr}];` : "");
          else if (op === OP.mtcr) out.push(`cpu.cr[${cr}] = ${reg(B)};`);
          else if (op === OP.rdpsr) out.push(A !== 0 ? `r${A} = cpu.psr | 0;` : "");
          else if (op === OP.wrpsr) {
            // Supervisor: every defined bit. User: only UF, silently (the virtualization hole).
            out.push(`cpu.psr = (cpu.psr & ${PSR_SU}) !== 0 ? ${reg(B)} & ${UF_AND_MODE} : (cpu.psr & ${~PSR.UF_MASK}) | (${reg(B)} & ${PSR.UF_MASK});`);
          } else throw new Error(`jit: no translation for opcode ${op}`);
          if (e.kind === "sysret") {
            out.push(charge(before[m], m));
            out.push(exit(off + 4, EXIT.SYS));
          }
          break;
        }
        case "jalr": {
          out.push(`va = (${reg(B)} + ${imm(w)}) | 0;`);
          out.push(`if ((va & 3) !== 0) ${exit(off, EXIT.STEP, before[k], k)}`);
          out.push(charge(before[m], m));
          if (A !== 0) out.push(`r${A} = ${pcAt(off + 4)};`);
          out.push(traced(pcAt(off), "va"));
          out.push(`{ q = -1; break out; }`);
          break;
        }
      }
      if (last && !b.terminated) {
        out.push(charge(before[m], m));
        out.push(goTo(off + 4));
      }
    }
    loopPending = "";
    if (!selfLoop) out.push("}");
  }
  out.push("} }");
  // q = -1: a jalr, pc = va (an exit with nothing uncharged, NEXT); its side only assigns.
  out.push(`${settleAlways} ${writeBack} cpu.traceIdx = tr;`);
  out.push(`if (q < 0) { x = va; y = ${EXIT.NEXT}; j = 0; z = 0; } else { q <<= 2; x = (vb + XT[q]) | 0; y = XT[q + 1]; j = XT[q + 2]; z = XT[q + 3]; }`);
  out.push(`cpu.cycles = cyc + j; cpu.instret = n + z; cpu.pc = x; return y;`);

  const body = out.join("\n");
  const src = `return function block(cpu, vb, tagR, tagW, ADD, T, limit, H, U16, U8, CP, block, EM) { "use strict"; let va = 0, s = 0, p = 0, o = 0, x = 0, y = 0, j = 0, z = 0, pr = ${NO_PAGE}, ar = 0, pw = ${NO_PAGE}, aw = 0, lk = 0, lf = 0, lt = 0, lc = 0, lm = 0, K = 0, E = 0${linkers.map((_, i) => `, w${i} = 0`).join("")};\n${body}\n};`;
  const fn = (new Function("mulhu", "div", "divu", "rem", "remu", "loopFit", "XT", "WL", "WX", src) as (...a: unknown[]) => BlockFn)(mulhu, div, divu, rem, remu, loopFit, Int32Array.from(xt), linkers, wasmCodes);
  translatorStats.wasmLoops += linkers.length;
  translatorStats.generated++;
  return { fn, codeBytes: src.length, tail: false };
}

/**
 * How many iterations of a self-loop, starting at cycle count `cyc`, pass the
 * interpreter's check `cyc + x < limit` one after the other, the count
 * growing by `c` per iteration: the largest K with cyc + i·c + x < limit for
 * every i < K (at most LOOP_CAP). The translation skips the check for those
 * and makes it at the K-th. Proved on the same expressions the loop would
 * evaluate — integers below 2^53 add exactly, so cyc + i·c is the count after
 * i additions of c. 0 when the first iteration fails the check; 1 (the
 * next iteration checks again) where the proof does not hold (a fractional
 * or huge count).
 */
export function loopFit(cyc: number, x: number, c: number, limit: number): number {
  if (!(cyc + x < limit)) return 0;
  if (!Number.isSafeInteger(cyc) || cyc > 2 ** 52 || !Number.isSafeInteger(c) || c < 0 || !Number.isSafeInteger(x)) return 1;
  if (c === 0) return LOOP_CAP;
  let k = Math.ceil((limit - cyc - x) / c);
  if (!(k <= LOOP_CAP)) k = LOOP_CAP; // NaN, Infinity too
  if (k < 1) k = 1;
  // cyc + (k - 1)·c + x < limit holds for i = k - 1, hence for every smaller i (c ≥ 0).
  while (k > 1 && !(cyc + (k - 1) * c + x < limit)) k--;
  if (cyc + (k - 1) * c + x >= 2 ** 53) return 1;
  return k;
}
