// `previrt kernel -o OUT.elf [--workload W] [--scale N] [--timer-period N]
// [--cpus N] [--no-annotate] [--paravirt xen] [--user-programs FILE.s] [--disk FILE]`:
// builds the bundled kernel (fixtures/kernel, src/cli/bundled-kernel.ts) —
// the user programs unannotated at their user address, embedded; the kernel
// annotated; --cpus N caps the CPUs it starts (it uses every CPU the machine
// has, up to N) — and optionally writes the generated user-program assembly (for
// building the kernel by hand with `previrt build`) and a zeroed disk image
// big enough for the io workload.
import { UserError } from "../../guest-isa/diagnostics.js";
import { writeElf } from "../../guest-isa/elf.js";
import { buildKernel, kernelDisk, userProgramsSource, WORKLOADS, type Workload } from "../bundled-kernel.js";
import { checkOutputs, writeOutput } from "../files.js";
import type { CommandRunner } from "../main.js";

export const run: CommandRunner = (_args, options, io) => {
  const workload = (options.workload as string | undefined) ?? "mixed";
  if (!(WORKLOADS as readonly string[]).includes(workload)) throw new UserError(`unknown workload '${workload}' (valid: ${WORKLOADS.join(", ")})`);
  const scale = (options.scale as number | undefined) ?? 1;
  if (scale < 1 || scale > 1000) throw new UserError(`--scale must be an integer from 1 to 1000, not ${scale}`); // also for --disk alone
  if (options.output === undefined && options.userPrograms === undefined && options.disk === undefined) {
    throw new UserError("nothing to do: give -o OUT.elf (or --user-programs FILE.s, --disk FILE)");
  }
  checkOutputs([["-o", options.output, "binary"], ["--user-programs", options.userPrograms, "text"], ["--disk", options.disk]]);
  // Everything is made before anything is written: a refused option leaves no output behind.
  const built =
    typeof options.output === "string"
      ? buildKernel({
          workload: workload as Workload,
          scale,
          timerPeriod: options.timerPeriod as number | undefined,
          cpus: options.cpus as number | undefined,
          annotate: options.annotate as boolean | undefined,
          paravirt: options.paravirt as string | undefined,
        })
      : undefined;
  const disk = typeof options.disk === "string" ? kernelDisk(scale) : undefined;
  if (typeof options.userPrograms === "string") writeOutput(options.userPrograms, userProgramsSource().text, io);
  if (typeof options.disk === "string") writeOutput(options.disk, disk!, io);
  if (typeof options.output === "string" && built) {
    writeOutput(options.output, writeElf(built.image), io);
    io.err(`${options.output}: bundled kernel, ${Object.entries(built.defines).map(([k, v]) => `${k}=${v}`).join(" ")}\n`);
  }
  return 0;
};
