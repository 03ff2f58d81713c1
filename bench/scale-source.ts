// The generated assembly file of the build-at-scale benchmark (issue 16): a
// deterministic, valid G32 program of exactly N lines, a quarter of them
// sensitive instructions that become sites (cli, sti, wrpsr, rdpsr, mtcr and
// `.sensitive pte` stores), the rest ordinary ALU/memory code, branches on
// local labels, calls and comments. It annotates, assembles and links.
//
// Consumed by bench/annotator.bench.ts (the 250k/500k/1M-line build figures)
// and scripts/gen-scale-asm.ts (writes it to a file for `previrt build`).

/** The source text: `lines` lines (each ending in "\n"), about lines/4 of them sites. */
export function generateScaleSource(lines: number): string {
  const out: string[] = ["# generated build-at-scale source (bench/scale-source.ts)", ".equ CONSOLE, 0x10", ".text", ".global _start", "_start:", "    li sp, 0x80000"];
  let seed = 1616;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const regs = ["a0", "a1", "a2", "a3", "t1", "t2", "t3", "t4", "s0", "s1", "s2"];
  const r = () => regs[rnd(regs.length)];
  const crs = ["tvec", "epc", "epsr", "scratch"];
  const tail = 8; // the data section below
  let fn = 0;
  let sensitive = 0;
  while (out.length < lines - tail - 8) {
    const name = `f${fn}`;
    out.push(`${name}:`, "    push lr", "    la t0, page_table");
    const body = Math.min(20 + rnd(40), lines - tail - 8 - out.length);
    for (let i = 0; i < body; i++) {
      // Keep the running share of site lines at a quarter of all lines.
      if (sensitive * 4 < out.length) {
        sensitive++;
        switch (rnd(6)) {
          case 0: out.push("    cli"); break;
          case 1: out.push("    sti"); break;
          case 2: out.push(`    wrpsr ${r()}`); break;
          case 3: out.push(`    rdpsr ${r()}`); break;
          case 4: out.push(`    mtcr ${crs[rnd(crs.length)]}, ${r()}`); break;
          default: out.push("    .sensitive pte", `    sw ${r()}, ${rnd(1024) * 4}(t0)`); i++; break;
        }
        continue;
      }
      switch (rnd(12)) {
        case 0: out.push(`.L${name}_${i}:`); break;
        case 1: out.push(`    bne ${r()}, zero, .L${name}_end`); break;
        case 2: out.push(`    lw ${r()}, ${rnd(64) * 4}(t0)    # load`); break;
        case 3: out.push(`    sw ${r()}, ${rnd(64) * 4}(t0)`); break;
        case 4: out.push(`    li ${r()}, ${rnd(100000)}`); break;
        case 5: out.push("    # a comment line"); break;
        case 6: out.push(`    slli ${r()}, ${r()}, ${rnd(31)}`); break;
        case 7: out.push(`    mv ${r()}, ${r()}`); break;
        case 8: out.push(fn > 0 ? `    call f${rnd(fn)}` : "    nop"); break;
        default: out.push(`    add ${r()}, ${r()}, ${r()}`); break;
      }
    }
    out.push(`.L${name}_end:`, "    pop lr", "    ret");
    fn++;
  }
  while (out.length < lines - tail) out.push("    # padding to the requested size");
  out.push("    .data", "    .align 4", "page_table:", "    .space 4096", "    .bss", "scratch_area:", "    .space 64", "# end");
  return out.join("\n") + "\n";
}
