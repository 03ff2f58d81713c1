// The multi-guest configuration file (`previrt run --domains FILE`,
// docs/driver-vms.md "Guests and configuration"): JSON read and checked
// completely — unknown keys, wrong types, missing files, unknown workloads,
// names that do not resolve are one error line naming the key — before any
// guest is built. It produces the host's DomainSpecs (src/hypervisors/
// domains/host.ts) with the ELF images read or the bundled kernel built, and
// the disk backings opened (the caller closes them), and the files it names
// (the caller's outputs must not overwrite them). Paths are relative to the
// file's folder.

import { dirname, resolve } from "node:path";
import { quotedName, UserError } from "../guest-isa/diagnostics.js";
import { BACKEND_NAMES } from "../hypervisors/backend-names.js";
import { DEVICE_KIND, isDeviceKind, type DeviceKindName } from "../hypervisors/domains/abi.js";
import { GUEST_NAME, GUEST_NAME_RULE, type DomainSpec } from "../hypervisors/domains/host.js";
import type { DiskBacking } from "../machine/devices/disk.js";
import { buildKernel, kernelDisk, WORKLOADS, type Workload } from "./bundled-kernel.js";
import { checkInputFile, fileError, readElfInput, readJsonFile, regularFileId } from "./files.js";
import { fileDisk, NVDISK_EMPTY } from "./host-devices.js";

/** The configuration's top level, after checking. */
export interface DomainsConfig {
  hv?: string;
  window?: number;
  watchdog?: number;
  specs: DomainSpec[];
  /** Disk backings opened for the guests (files): close them after the run. */
  opened: DiskBacking[];
  /** The files the configuration names (ELF files, disk and nvdisk images), resolved: inputs no output may overwrite. */
  files: string[];
}

const TOP_KEYS = new Set(["hv", "window", "watchdog", "guests"]);
const GUEST_KEYS = new Set(["name", "elf", "kernel", "scale", "memory", "cpus", "disk", "role", "serves", "uses", "nvdisk", "passthrough"]);

/** Reads and checks a configuration file. */
export function readDomainsConfig(path: string): DomainsConfig {
  checkInputFile(path);
  return parseDomainsConfig(readJsonFile(path), path, dirname(path), regularFileId(path));
}

/**
 * Checks a parsed configuration (`where`: the file name for messages; `base`:
 * the folder paths are relative to; `selfId`: the file's identity, which no
 * image may be).
 */
export function parseDomainsConfig(raw: unknown, where: string, base: string, selfId?: string): DomainsConfig {
  const bad = (msg: string): never => {
    throw new UserError(`${where}: ${msg}`);
  };
  if (!isObject(raw)) bad("the configuration must be a JSON object with a \"guests\" array");
  const top = raw as Record<string, unknown>;
  for (const k of Object.keys(top)) if (!TOP_KEYS.has(k)) bad(`unknown key '${k}' (valid: ${[...TOP_KEYS].join(", ")})`);
  if (top.hv !== undefined && (typeof top.hv !== "string" || !BACKEND_NAMES.includes(top.hv))) bad(`"hv" must be a back-end name (${BACKEND_NAMES.join(", ")})`);
  const window = optInt(top.window, "window", 1, 1e9, bad);
  const watchdog = optInt(top.watchdog, "watchdog", 0, 1e15, bad);
  if (!Array.isArray(top.guests) || top.guests.length === 0) bad("\"guests\" must be a non-empty array");
  const guests = top.guests as unknown[];
  const opened: DiskBacking[] = [];
  const files: string[] = [];
  const specs: DomainSpec[] = [];
  // Each image file serves one device of one guest: two would overwrite each other's sectors,
  // and the guest's writes would overwrite an ELF file or this file.
  const claimed = new Map<string, string>();
  const elfs = new Map<string, string>();
  if (selfId !== undefined) elfs.set(selfId, "the configuration file");
  try {
    const named = new Map<string, number>();
    guests.forEach((g, i) => {
      const spec = parseGuest(g, i, base, opened, files, (m) => bad(`guests[${i}]: ${m}`), claimed, elfs);
      const hasName = isObject(g) && (g as Record<string, unknown>).name !== undefined;
      const why = hasName ? "" : ` (named after its ${isObject(g) && (g as Record<string, unknown>).elf !== undefined ? "ELF file" : "workload"}: give each a "name")`;
      if (!GUEST_NAME.test(spec.name)) bad(`guests[${i}]: the name ${quotedName(spec.name)} must be ${GUEST_NAME_RULE}${why}`);
      const other = named.get(spec.name);
      if (other !== undefined) bad(`guests[${i}]: the name '${spec.name}' is guests[${other}]'s too${why}`);
      named.set(spec.name, i);
      specs.push(spec);
    });
    for (const [id, what] of claimed) {
      const elf = elfs.get(id);
      if (elf !== undefined) bad(`${what} is ${elf}: the guest's writes would overwrite it`);
    }
  } catch (e) {
    for (const d of opened) d.close?.();
    throw e;
  }
  return { hv: top.hv as string | undefined, window, watchdog, specs, opened, files };
}

function parseGuest(g: unknown, i: number, base: string, opened: DiskBacking[], files: string[], bad: (m: string) => never, claimed: Map<string, string>, elfs: Map<string, string>): DomainSpec {
  if (!isObject(g)) bad("each guest must be a JSON object");
  const o = g as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!GUEST_KEYS.has(k)) bad(`unknown key '${k}' (valid: ${[...GUEST_KEYS].join(", ")})`);
  if ((o.elf === undefined) === (o.kernel === undefined)) bad("give exactly one of \"elf\" (an ELF file) or \"kernel\" (a bundled-kernel workload)");
  const scale = optInt(o.scale, "scale", 1, 1000, bad);
  if (scale !== undefined && o.kernel === undefined) bad("\"scale\" is for \"kernel\" guests");
  let name = o.name;
  let image;
  let file: string | undefined;
  if (typeof o.elf === "string" && o.elf !== "") {
    file = resolve(base, o.elf);
    files.push(file);
    image = readElfInput(file);
    const id = regularFileId(file);
    if (id !== undefined && !elfs.has(id)) elfs.set(id, `the "elf" of guests[${i}]`);
    name ??= o.elf.replace(/^.*\//, "").replace(/\.elf$/, "");
  } else if (o.elf !== undefined) bad("\"elf\" must be a file name");
  else {
    if (typeof o.kernel !== "string" || !(WORKLOADS as readonly string[]).includes(o.kernel)) bad(`"kernel" must be a bundled-kernel workload (${WORKLOADS.join(", ")})`);
    image = buildKernel({ workload: o.kernel as Workload, scale }).image;
    name ??= o.kernel as string;
  }
  if (typeof name !== "string") bad("\"name\" must be a string");
  const memory = parseMemory(o.memory, bad);
  const cpus = optInt(o.cpus, "cpus", 1, 8, bad);
  if (o.role !== undefined && o.role !== "driver" && o.role !== "guest") bad("\"role\" must be \"driver\" (restartable service) or \"guest\"");
  const serves = o.serves === undefined ? undefined : kinds(o.serves, bad);
  let uses: Partial<Record<DeviceKindName, string>> | undefined;
  if (o.uses !== undefined) {
    if (!isObject(o.uses)) bad("\"uses\" must be an object: { \"block\": \"<guest name>\" }");
    uses = {};
    for (const [k, v] of Object.entries(o.uses as Record<string, unknown>)) {
      if (!isDeviceKind(k)) bad(`"uses": unknown device kind '${k}' (valid: ${Object.keys(DEVICE_KIND).join(", ")})`);
      if (typeof v !== "string") bad(`"uses": "${k}" must name a guest`);
      uses[k as DeviceKindName] = v as string;
    }
  }
  if (o.passthrough !== undefined && typeof o.passthrough !== "boolean") bad("\"passthrough\" must be true or false");
  if (o.passthrough === true && o.nvdisk === undefined) bad("\"passthrough\" needs an \"nvdisk\"");
  const claim = (id: string, what: string) => {
    const other = claimed.get(id);
    if (other !== undefined) bad(`${what.replace(/^guests\[\d+\] /, "")} is the image file of ${other} too`);
    claimed.set(id, what);
  };
  const disk = openDisk(o.disk, "disk", base, scale, opened, files, bad, (id) => claim(id, `guests[${i}] "disk"`));
  const nvdisk = openDisk(o.nvdisk, "nvdisk", base, scale, opened, files, bad, (id) => claim(id, `guests[${i}] "nvdisk"`));
  void i;
  return { name: name as string, image: image!, file, ramSize: memory, cpus, disk, role: o.role as "driver" | "guest" | undefined, serves, uses, nvdisk, passthrough: o.passthrough as boolean | undefined };
}

/** "disk": a file name, or "memory" for a zeroed in-memory disk the size the bundled kernel's io workload needs. */
function openDisk(v: unknown, key: string, base: string, scale: number | undefined, opened: DiskBacking[], files: string[], bad: (m: string) => never, claim: (id: string) => void): Uint8Array | DiskBacking | undefined {
  if (v === undefined) return undefined;
  if (v === "memory") return kernelDisk(scale ?? 1);
  if (typeof v !== "string" || v === "") bad(`"${key}" must be an image file name or "memory"`);
  const path = resolve(base, v as string);
  files.push(path);
  checkInputFile(path);
  const id = regularFileId(path);
  if (id !== undefined) claim(id);
  let d: DiskBacking;
  try {
    d = fileDisk(path);
  } catch (e) {
    throw fileError(path, e);
  }
  opened.push(d);
  // As run's --nvdisk: the device needs a sector to serve.
  if (key === "nvdisk" && d.sectors === 0) bad(`"nvdisk" ${v as string}: ${NVDISK_EMPTY}`);
  return d;
}

/** "memory": bytes, or a string like "16M", "512K": a multiple of 4 KiB from 64 KiB to 1 GiB. */
function parseMemory(v: unknown, bad: (m: string) => never): number | undefined {
  if (v === undefined) return undefined;
  let n: number | undefined;
  if (typeof v === "number") n = v;
  else if (typeof v === "string") {
    const m = /^(\d+)([KM]?)$/.exec(v);
    if (m) n = Number(m[1]) * (m[2] === "M" ? 2 ** 20 : m[2] === "K" ? 1024 : 1);
  }
  if (n === undefined || !Number.isInteger(n) || n % 4096 !== 0 || n < 65536 || n > 2 ** 30) bad("\"memory\" must be bytes (or \"16M\", \"512K\"): a multiple of 4096 from 64K to 1024M");
  return n;
}

function kinds(v: unknown, bad: (m: string) => never): DeviceKindName[] {
  if (!Array.isArray(v)) bad("\"serves\" must be an array of device kinds, e.g. [\"block\"]");
  const seen = new Set<string>();
  for (const k of v as unknown[]) {
    if (typeof k !== "string" || !isDeviceKind(k)) bad(`"serves": unknown device kind '${String(k)}' (valid: ${Object.keys(DEVICE_KIND).join(", ")})`);
    // A kind named twice is a slip in the file (a kind is served once), refused as the CLI refuses an option given twice.
    if (seen.has(k)) bad(`"serves": '${k}' named twice`);
    seen.add(k);
  }
  return v as DeviceKindName[];
}

function optInt(v: unknown, key: string, min: number, max: number, bad: (m: string) => never): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) bad(`"${key}" must be a whole number from ${min} to ${max}`);
  return v as number;
}

function isObject(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
