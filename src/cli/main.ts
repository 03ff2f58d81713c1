// The `previrt` command (docs/design.md §6). Commands are declared here, in one
// place, with their options; each implementation lives in commands/NAME.ts
// and is loaded only when that command runs, and the back ends and the
// machine, which the help text describes, only when help may be shown. Errors are caught here and
// turned into one line, `previrt: error: …`, and a non-zero status; a closed
// stdout (io.ts's OutputClosed) ends the command quietly with status 141.

import type * as Commander from "commander";
import { createRequire } from "node:module";
import { DiagnosticError, UserError, formatDiagnostic } from "../guest-isa/diagnostics.js";
import { fileError } from "./file-error.js";
import { OUTPUT_CLOSED_STATUS, OutputClosed, processIO, type CliIO } from "./io.js";
import { packageVersion } from "./package-info.js";
import { WORKLOADS } from "./workloads.js";

// commander by `require`, not `import`: its ES-module entry wraps the CommonJS
// package, and Node then loads its CommonJS export scanner (cjs-module-lexer)
// and runs it over commander's index.js first — ~4 ms of every command (docs/speed-history.md
// "Eleventh round: start-up"). Same package, same classes. The CLI is never bundled for a browser.
const { Command, CommanderError, Option } = createRequire(import.meta.url)("commander") as typeof Commander;
type Command = Commander.Command;

/** Each command module exports `run(args, options, io)` and returns the exit status. */
export type CommandRunner = (args: string[], options: Record<string, unknown>, io: CliIO) => Promise<number> | number;

const loaders: Record<string, () => Promise<{ run: CommandRunner }>> = {
  cc: () => import("./commands/cc.js"),
  annotate: () => import("./commands/annotate.js"),
  as: () => import("./commands/as.js"),
  build: () => import("./commands/build.js"),
  objdump: () => import("./commands/objdump.js"),
  verify: () => import("./commands/verify.js"),
  load: () => import("./commands/load.js"),
  run: () => import("./commands/run.js"),
  matrix: () => import("./commands/matrix.js"),
  bench: () => import("./commands/bench.js"),
  demo: () => import("./commands/demo.js"),
  kernel: () => import("./commands/kernel.js"),
  inject: () => import("./commands/inject.js"),
  drivers: () => import("./commands/drivers.js"),
  resume: () => import("./commands/resume.js"),
  migrate: () => import("./commands/migrate.js"),
  playground: () => import("./commands/playground.js"),
};

/** The parsers of the options that may be given more than once (their values join); every other option may not. */
const repeatableParsers = new WeakSet<(...a: never[]) => unknown>();
const repeatable = <F extends (...a: never[]) => unknown>(parser: F): F => (repeatableParsers.add(parser), parser);

/**
 * A comma-separated list option's parser (repeatable: the lists join). A value
 * with no item in it (`--hv ,`, `--hv ""`) is refused, naming the flag: an
 * empty list would otherwise mean "none" (a matrix of no back end).
 */
const list = (flag: string) =>
  repeatable((value: string, previous: string[] = []) => {
    const items = value.split(",").filter(Boolean);
    if (items.length === 0) throw new UserError(`${flag}: no value in '${value}'`);
    return previous.concat(items);
  });
/** A repeatable option's parser that keeps each value whole (`--guest A.elf --guest B.elf`). */
const each = () => repeatable((value: string, previous: string[] = []) => previous.concat(value));

/**
 * Refuses an option given twice that takes one value: commander keeps the
 * last silently, and `run --hv xen --hv bare k.elf` ran on bare alone with no
 * word. A usage error (status 2, as an unknown option), naming both values.
 * Repeatable options (list, each) join their values instead; a flag that
 * takes no value (`--stats`) says the same thing twice and loses nothing.
 */
function refuseRepeats(command: Command): void {
  for (const option of command.options) {
    if (!option.required && !option.optional) continue;
    if (option.parseArg && repeatableParsers.has(option.parseArg as never)) continue;
    const flag = option.long ?? option.short ?? option.flags;
    let first: { value: unknown } | undefined;
    command.on(`option:${option.name()}`, (value: unknown) => {
      if (!first) {
        first = { value };
        return;
      }
      const shown = (v: unknown) => (typeof v === "string" ? `'${v}'` : "no value");
      throw new UserError(`${flag} given twice (${shown(first.value)}, then ${shown(value)}): it takes one value`, 2);
    });
  }
}

/**
 * A whole-number option's parser, naming its flag in the one-line error.
 * Decimal digits only: Number() would also read "" as 0 (`--max-cycles ""`,
 * a run that stops at once), and " 2", "0x2", "1e0" or "2.0" as numbers.
 */
const integer = (flag: string) => (value: string) => {
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new UserError(`${flag}: not a non-negative integer: '${value}'`);
  return n;
};

/** What the help text says about the back ends and the machine. */
interface HelpFacts {
  /** The back ends' names, comma-separated. */
  names: string;
  maxCpus: number | string;
  quantum: number | string;
  /** "Back ends (--hv):" and a line per back end with its registry description. */
  backendList: string;
  /** The --spinlocks cures, each but native with the back ends that offer it (Backend.spinlocks). */
  cures: string;
  /** The back ends --passthrough works on (Backend.passthrough). */
  passthrough: string;
  /** The back ends `bench --drivers` runs by default (driver-bench.ts). */
  drivers: string;
  /** `matrix`'s cycle limit per run unless given (matrix-verdicts.ts). */
  matrixMaxCycles: string;
}

/**
 * Loads the back-end registry (src/hypervisors/index.ts: every hypervisor)
 * and the machine for the help text. Only when help may be shown: a command
 * that runs no guest (build, as, objdump) then starts without loading them,
 * and the commands that do load them with their implementation (issue 16).
 */
async function helpFacts(): Promise<HelpFacts> {
  const [{ backends, passthroughBackends }, { DEFAULT_QUANTUM, MAX_CPUS }, { SPINLOCK_CURES }, { driverBenchBackends }, { MATRIX_MAX_CYCLES }] = await Promise.all([
    import("../hypervisors/index.js"),
    import("../machine/machine.js"),
    import("../hypervisors/common/spinlock-cures.js"),
    import("./bench/driver-bench.js"),
    import("../hypervisors/matrix-verdicts.js"),
  ]);
  // Each back end with its registry description: a new one shows up by itself.
  const width = Math.max(...[...backends.keys()].map((n) => n.length));
  const list = [...backends.values()].map((b) => `  ${b.name.padEnd(width)}  ${b.description}`).join("\n");
  // Each cure but native (every back end's) with the back ends offering it, from the back ends themselves.
  const offering = (cure: string) => [...backends.values()].filter((b) => b.spinlocks?.includes(cure as never)).map((b) => b.name);
  const cures = SPINLOCK_CURES.filter((c) => c === "native" || offering(c).length > 0).map((c) => (c === "native" ? c : `${c} (${offering(c).join(", ")})`));
  return {
    names: [...backends.keys()].join(", "),
    maxCpus: MAX_CPUS,
    quantum: DEFAULT_QUANTUM,
    backendList: `\nBack ends (--hv):\n${list}\n`,
    cures: cures.join(", "),
    passthrough: passthroughBackends(backends.values()).map((b) => b.name).join(", "),
    drivers: driverBenchBackends().join(", "),
    matrixMaxCycles: MATRIX_MAX_CYCLES.toLocaleString("en-US"),
  };
}

/** Stands in for HelpFacts when no help is shown: the option descriptions are then never printed. */
const NO_HELP: HelpFacts = { names: "see previrt --help", maxCpus: "N", quantum: "Q", backendList: "", cures: "", passthrough: "", drivers: "", matrixMaxCycles: "" };

/** Whether these arguments may print help: none (commander prints the command list), or -h, --help, help anywhere. */
const mayShowHelp = (argv: readonly string[]) => argv.length === 0 || argv.some((a) => a === "-h" || a === "--help" || a === "help");

function declareCommands(program: Command, facts: HelpFacts, dispatch: (name: string, args: string[], opts: Record<string, unknown>) => void): void {
  const cmd = (name: string, description: string) => program.command(name).description(description);
  const { names, maxCpus, quantum: defaultQuantum } = facts;
  const hv = () => new Option("--hv <backend>", `back end: ${names} (listed in previrt --help)`).makeOptionMandatory();
  const noProtect = () => new Option("--no-protect", "no protection domain for the in-place VMM on xen and l4 (docs/protection.md), to compare");
  const engine = () => new Option("--engine <name>", "execute guest code with the interpreter or the JIT (identical results; default: PREVIRT_ENGINE, else jit)").choices(["interp", "jit"]);
  // The multiprocessor (docs/machine.md "Multiprocessor"); runElf checks the values (one-line errors).
  const cpus = () => new Option("--cpus <n>", `CPUs of the guest machine, 1–${maxCpus} (default 1)`).argParser(integer("--cpus"));
  // `resume`'s defaults are the snapshot's (migration/snapshot.ts restoreGuest): `fromSnapshot` says so.
  const quantum = (fromSnapshot = false) => new Option("--quantum <n>", `cycles per interleaving quantum of a multiprocessor (default ${fromSnapshot ? "the snapshot's" : defaultQuantum})`).argParser(integer("--quantum"));
  const pcpus = (fromSnapshot = false) => new Option("--pcpus <n>", `physical CPUs a hypervisor time-slices the --cpus on (at most --cpus; not on bare${fromSnapshot ? "; default: on the back end that took the snapshot, its physical CPUs" : ""})`).argParser(integer("--pcpus"));
  const spinlocks = () => new Option("--spinlocks <cure>", `lock-holder preemption cure for the lock/unlock sites: ${facts.cures}; docs/smp-virtualization.md`);
  const timeslice = (fromSnapshot = false) => new Option("--timeslice <n>", `the --pcpus scheduler's time slice in cycles, a multiple of the quantum (default ${fromSnapshot ? "the snapshot's schedule's without --pcpus, else " : ""}10 quanta; docs/vcpus.md)`).argParser(integer("--timeslice"));
  // `--json [file]`, one meaning everywhere (json-option.ts): FILE, or stdout with no FILE or `-`, and then what
  // the command prints there goes to stderr. A command with a positional argument declares it optional ([elf]):
  // `--json k.elf` took it, and the command gives it back (withPositional).
  const json = (what: string, moved: string) => new Option("--json [file]", `write ${what} as JSON to FILE; without FILE (or -) to stdout, ${moved} then going to stderr`);
  const act = (name: string) => (...a: unknown[]) => {
    const command = a[a.length - 1] as Command;
    dispatch(name, command.args, command.opts());
  };

  cmd("cc", "compile TypeScript-dialect guest code to G32 assembly")
    .argument("<files...>")
    .requiredOption("-o, --output <file>", "output assembly file")
    .option("--paravirt <hv>", "compile intrinsics straight to hypercalls for a hypervisor (xen)")
    .action(act("cc"));
  cmd("annotate", "the afterburner pass: wrap sensitive instructions in padded sites")
    .argument("<input>")
    .requiredOption("-o, --output <file>", "annotated assembly file")
    .option("--map [file]", "write a source map (default: OUTPUT.map)")
    .action(act("annotate"));
  cmd("as", "assemble and link G32 assembly into an ELF executable")
    .argument("<files...>")
    .requiredOption("-o, --output <file>", "output ELF file")
    .option("-D, --define <name=value>", "define an assembler symbol (repeatable)", list("-D"))
    .action(act("as"));
  cmd("build", "cc + annotate + as: build guest sources into one ELF")
    .argument("<files...>")
    .requiredOption("-o, --output <file>", "output ELF file")
    .option("--no-annotate", "do not annotate (a plain binary)")
    .option("--paravirt <hv>", "para-virtualized build for a hypervisor (xen)")
    .option("-D, --define <name=value>", "define an assembler symbol (repeatable)", list("-D"))
    .action(act("build"));
  cmd("objdump", "show an ELF: headers, disassembly, sites")
    .argument("<elf>")
    .option("-d, --disassemble", "the whole image as assembly (previrt as turns it back into the same program)")
    .option("--sites", "list the soft-layer sites")
    .action(act("objdump"));
  cmd("verify", "check that every sensitive instruction is covered by a well-formed site")
    .argument("<elf>")
    .action(act("verify"));
  cmd("load", "rewrite an ELF for a back end without running it")
    .argument("<elf>")
    .addOption(hv())
    .option("--show-sites", "show what each site became")
    .action(act("load"));
  cmd("run", "rewrite and run an ELF on a back end (or several guests: --guest, --domains; docs/driver-vms.md)")
    // Optional here only so that `run --json k.elf` (the flag, then the file) works (json above); run.ts requires it.
    .argument("[elf]")
    .usage("[options] <elf>  |  --guest A.elf --guest B.elf [options]  |  --domains FILE [options]")
    .addOption(new Option("--hv <backend>", `back end: ${names} (listed in previrt --help; several guests: any but bare and trap, default xen)`))
    .option("--guest <elf>", "run this ELF as one more guest on the same hypervisor (repeatable; docs/driver-vms.md)", each())
    .option("--domains <file>", "several guests described by a JSON configuration file (docs/driver-vms.md)")
    .option("--window <n>", "several guests: the scheduling window in cycles, the bound on a cross-guest event's latency (default 1000)", integer("--window"))
    .option("--watchdog <n>", "several guests: restart a driver guest whose event stays unacknowledged N cycles (default 500000; 0 = off)", integer("--watchdog"))
    .option("--stats", "print counters after the run (stderr)")
    .addOption(json("one document (how the run ended, counters)", "the guest console"))
    .option("--max-cycles <n>", "stop a runaway guest after N cycles", integer("--max-cycles"))
    .option("--disk <image>", "disk image file")
    .option("--nvdisk <image>", "disk image file for the memory-mapped disk (nvdisk), which the bundled kernel then uses")
    .option("--passthrough", `pass the nvdisk through to the guest: VMM-bypass I/O (${facts.passthrough})`)
    .option("--cost-model <file>", "cost model JSON replacing the default")
    .option("--snapshot-at <n>", "stop at the first safe point at or after cycle N and write a snapshot", integer("--snapshot-at"))
    .option("--snapshot <file>", "the snapshot file --snapshot-at writes")
    .addOption(engine())
    .addOption(cpus())
    .addOption(quantum())
    .addOption(pcpus())
    .addOption(noProtect())
    .addOption(timeslice())
    .addOption(spinlocks())
    .action(act("run"));
  cmd("resume", "continue a snapshot on a back end")
    .argument("[snapshot]")
    .usage("[options] <snapshot>")
    .addOption(hv())
    .option("--stats", "print counters after the run (stderr)")
    .addOption(json("one document (how the run ended, counters)", "the guest console"))
    .option("--max-cycles <n>", "stop a runaway guest after N cycles (counted from the guest's reset)", integer("--max-cycles"))
    .option("--disk <image>", "write the snapshot's disk into this image file and run on it")
    .option("--nvdisk <image>", "write the snapshot's nvdisk image into this file and run on it")
    .option("--cost-model <file>", "cost model JSON replacing the snapshot's")
    .option("--snapshot-at <n>", "snapshot again at the first safe point at or after cycle N", integer("--snapshot-at"))
    .option("--snapshot <file>", "the snapshot file --snapshot-at writes")
    .addOption(engine())
    .addOption(quantum(true))
    .addOption(pcpus(true))
    .addOption(noProtect())
    .addOption(timeslice(true))
    .action(act("resume"));
  cmd("migrate", "move a running guest from one back end to another")
    // Optional only so that `migrate --json k.elf …` works (the --json option above); migrate.ts requires it.
    .argument("[elf]")
    .usage("[options] <elf>")
    .option("--from <backend>", "the back end the guest starts on")
    .option("--to <backend>", "the back end it moves to")
    .option("--route <list>", "a chain of back ends instead of --from/--to", list("--route"))
    .option("--at <n>", "migrate at the first safe point at or after cycle N (one per move of a route, comma-separated)", list("--at"))
    .option("--live", "live migration: iterative pre-copy while the guest runs")
    .addOption(json("the migration report", "the guest console"))
    .option("--stats", "print counters after the run (stderr)")
    .option("--max-cycles <n>", "stop a runaway guest after N cycles", integer("--max-cycles"))
    .option("--disk <image>", "disk image file")
    .option("--nvdisk <image>", "disk image file for the memory-mapped disk (nvdisk), which moves with the guest")
    .option("--passthrough", `pass the nvdisk through on the back ends of the route that can (${facts.passthrough}); emulated on the others`)
    .option("--cost-model <file>", "cost model JSON replacing the default")
    .addOption(engine())
    .addOption(cpus())
    .addOption(quantum())
    .addOption(pcpus())
    .addOption(noProtect())
    .addOption(timeslice())
    .action(act("migrate"));
  cmd("matrix", "run one ELF on every back end and compare")
    // Optional only so that `matrix --json k.elf` works; matrix.ts requires it.
    .argument("[elf]")
    .usage("[options] <elf>")
    .option("--hv <list>", `back ends to run (comma-separated; default all: ${names})`, list("--hv"))
    .option("--allow-diverge <list>", "back ends allowed to diverge from bare", list("--allow-diverge"))
    .option("--migrate", "the migration matrix: every ordered pair of back ends, migrated at several points")
    .option("--at <list>", "with --migrate: the migration points in cycles (default: 1/4, 1/2, 3/4 of the bare run)", list("--at"))
    .option("--max-cycles <n>", `cycle limit per run (default ${facts.matrixMaxCycles}; a run it stops is unfinished, not compared past its output)`, integer("--max-cycles"))
    .option("--disk <image>", "disk image file")
    .option("--cost-model <file>", "cost model JSON replacing the default")
    .option("--jobs <n>", "run the back ends in N worker threads (default: the number of cores; 1 = serial)", integer("--jobs"))
    .addOption(json("every back end's run and verdict and the matrix's options (fields: README.md, \"Outputs, for scripts\")", "the table"))
    .addOption(engine())
    .addOption(cpus())
    .addOption(quantum())
    .addOption(pcpus())
    .addOption(spinlocks())
    .addOption(noProtect())
    .action(act("matrix"));
  cmd("bench", "the benchmark suite and its report")
    .option("--workloads <list>", "workloads to run", list("--workloads"))
    .option("--hv <list>", "configurations to run", list("--hv"))
    .addOption(json("the results", "the table"))
    .option("--html <file>", "write a self-contained HTML report (- for stdout)")
    .option("--cost-model <file>", "cost model JSON replacing the default")
    .option("--scale <n>", "workload size (multiplies each workload's iterations)", integer("--scale"))
    .option("--repeats <n>", "host-timed runs per cell (the median is reported)", integer("--repeats"))
    .option("--jobs <n>", "run the cells in N worker threads (default: the number of cores; 1 = serial)", integer("--jobs"))
    .option("--smp", "lock-holder preemption: spinlock, ticketlock, smp, ctxsw at --cpus 4, --pcpus 4/2/1, on every back end that runs 4 CPUs as bare metal does (trap does not), with each --spinlocks cure it offers (docs/smp-virtualization.md)")
    .option("--drivers", `driver VMs and VMM-bypass I/O: io at scales 1 and --scale (default 4) with the local driver, a driver VM, the nvdisk emulated and passed through, on ${facts.drivers} and bare (docs/driver-vms.md)`)
    .addOption(engine())
    .addOption(cpus())
    .addOption(quantum())
    .addOption(pcpus())
    .addOption(noProtect())
    .action(act("bench"));
  cmd("kernel", "build the bundled guest kernel (fixtures/kernel) for a workload")
    .option("-o, --output <file>", "output ELF file")
    .option("--workload <name>", `${WORKLOADS.join(", ")} (default mixed)`)
    .option("--scale <n>", "multiply the workload's iterations", integer("--scale"))
    .option("--timer-period <n>", "timer period in cycles", integer("--timer-period"))
    .option("--cpus <n>", "use at most N CPUs, 1-8 (default 8: every CPU the machine has)", integer("--cpus"))
    .option("--no-annotate", "do not annotate (a plain binary)")
    .option("--paravirt <hv>", "para-virtualized build for a hypervisor (xen)")
    .option("--user-programs <file>", "also write the generated assembly embedding the user programs")
    .option("--disk <file>", "also write a zeroed disk image big enough for the io workload")
    .action(act("kernel"));
  cmd("inject", "fault injection into the Mondrix kernel's isolated disk driver, with and without protection (docs/protection.md)")
    .option("--runs <n>", "seeded runs per arm (default 30)", integer("--runs"))
    .option("--seed <n>", "the first seed (default 1)", integer("--seed"))
    .option("--hv <backend>", "the back end the runs use (default bare)")
    .addOption(json("every run's record", "the table"))
    .option("--no-protect", "run only the arm without the driver's protection domain")
    .action(act("inject"));
  cmd("drivers", "seeded crashes of a driver domain during a client's disk workload: the client completes? (docs/driver-vms.md)")
    .option("--crashes <n>", "seeded runs, one driver crash each (default 10)", integer("--crashes"))
    .option("--seed <n>", "the first seed (default 1)", integer("--seed"))
    .option("--hv <backend>", "xen (default) or l4")
    .option("--workload <name>", "the client's bundled-kernel workload (default io)")
    .option("--kind <kind>", "wild-store or hang (default: alternating by seed)")
    .option("--window <n>", "the host's scheduling window in cycles (default 1000)", integer("--window"))
    .option("--watchdog <n>", "the driver watchdog in cycles (default 500000)", integer("--watchdog"))
    .addOption(json("every run's record", "the summary"))
    .action(act("drivers"));
  cmd("demo", "build the bundled guest once and run it on every back end").action(act("demo"));
  cmd("playground", "serve the browser playground on 127.0.0.1 (or --export it as static files)")
    .option("--port <n>", "port to listen on (default 8089; 0 = any free port)", integer("--port"))
    .option("--export <dir>", "write the playground's files to DIR instead of serving them")
    .action(act("playground"));
}

/**
 * The first argument whose bytes (`raw`, commandLineBytes) are not UTF-8, as
 * the error names it: its bad bytes as `\xE9`. Node hands previrt such an
 * argument with U+FFFD in place of its bad bytes, and no way back to them: a
 * file it names would be "not found", an output written under another name.
 * An argument whose bytes do not decode to what `argv` holds (the two lists
 * do not match) is not judged.
 */
function notUtf8Argument(argv: readonly string[], raw: readonly Uint8Array[]): string | undefined {
  if (raw.length !== argv.length) return undefined;
  const strict = new TextDecoder("utf-8", { fatal: true });
  const decodes = (bytes: Uint8Array) => {
    try {
      strict.decode(bytes);
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < raw.length; i++) {
    if (decodes(raw[i]) || new TextDecoder().decode(raw[i]) !== argv[i]) continue;
    // Each valid UTF-8 sequence as text, a byte that begins none as \xHH.
    const bytes = raw[i];
    let shown = "";
    for (let at = 0; at < bytes.length; ) {
      const n = [1, 2, 3, 4].find((len) => at + len <= bytes.length && decodes(bytes.subarray(at, at + len)));
      shown += n === undefined ? `\\x${bytes[at].toString(16).toUpperCase().padStart(2, "0")}` : strict.decode(bytes.subarray(at, at + n));
      at += n ?? 1;
    }
    return shown;
  }
  return undefined;
}

/**
 * Runs the CLI; returns the exit status. Never throws for bad input.
 * `commandLine`: the arguments' bytes as the system gave them (bin/previrt.js
 * passes commandLineBytes), to refuse one that is not UTF-8.
 */
export async function main(argv: string[], io: CliIO = processIO, commandLine?: readonly Uint8Array[]): Promise<number> {
  const bad = commandLine && notUtf8Argument(argv, commandLine);
  if (bad !== undefined) {
    io.err(`previrt: error: ${oneLine(`'${bad}': not UTF-8; Node reads the command line as UTF-8 and would give previrt another name (rename the file)`)}\n`);
    return 2;
  }
  let selected: { name: string; args: string[]; opts: Record<string, unknown> } | undefined;
  const program = new Command("previrt")
    .description("pre-virtualization toolchain for the G32 guest machine")
    .version(packageVersion(), "-V, --version", "print previrt's version")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      outputError: (s, write) => write(`previrt: ${oneLine(withSuggestion(s.trimEnd()))}\n`),
    });
  const facts = mayShowHelp(argv) ? await helpFacts() : NO_HELP;
  declareCommands(program, facts, (name, args, opts) => (selected = { name, args, opts }));
  for (const command of program.commands) refuseRepeats(command);
  if (facts.backendList) program.addHelpText("after", facts.backendList);
  // `help X` for no command X: commander prints the whole help and no error; `X` alone says
  // `unknown command 'X'` (with a suggestion when one is near), as a mistyped command does.
  if (argv.length === 2 && argv[0] === "help" && !program.commands.some((c) => c.name() === argv[1])) argv = [argv[1]];
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    return reportError(e, io);
  }
  if (!selected) return 0;
  try {
    const { run } = await loaders[selected.name]();
    return await run(selected.args, selected.opts, io);
  } catch (e) {
    return reportError(e, io);
  }
}

/**
 * An error message as one line: a control character that came in with the
 * user's input (a file name or an option value holding a newline) is shown
 * escaped, `\n`, so the error stays the one line a script reads.
 */
const oneLine = (text: string) => text.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, (c) => (c === "\n" ? "\\n" : c === "\r" ? "\\r" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));

/**
 * Commander puts its suggestion for a mistyped option or command on a line of
 * its own (`unknown option '--cpu'` NEWLINE `(Did you mean --cpus?)`): it joins
 * the line here, rather than being escaped as if the user had typed a newline.
 */
const withSuggestion = (text: string) => text.replace(/\n\(Did you mean ([^\n]*)\?\)$/, " (did you mean $1?)");

function reportError(e: unknown, io: CliIO): number {
  // The reader went away (`previrt objdump -d k.elf | head`): stop quietly, as any Unix tool does.
  if (e instanceof OutputClosed) return OUTPUT_CLOSED_STATUS;
  if (e instanceof DiagnosticError) {
    for (const d of e.diagnostics) io.err(formatDiagnostic(d) + "\n");
    return 1;
  }
  if (e instanceof UserError) {
    io.err(`previrt: error: ${oneLine(e.message)}\n`);
    return e.exitCode;
  }
  const err = e as NodeJS.ErrnoException;
  // Files are read and written through files.ts, which names the path; this catches a path that slipped past it.
  if (err && typeof err.code === "string" && err.path) return reportError(fileError(err.path, err), io);
  // An internal bug: still one line first, then the stack for whoever files the issue.
  io.err(`previrt: error: internal error: ${oneLine(String(err?.message ?? e))}\n`);
  if (process.env.PREVIRT_DEBUG) io.err(`${err?.stack ?? ""}\n`);
  return 70;
}
