// Public surface of the emulated machine (src/machine).
export { Machine, FAULT_LOOP_LIMIT, type MachineOptions } from "./machine.js";
export { runImage, type RunImageOptions, type RunOutcome } from "./run-image.js";
export { loadImage } from "./loader.js";
export { ACCESS, Fault, type Access, type Monitor, type MonitorTranslation, type TrapInfo, type TrapDisposition, type ExitAction } from "./monitor.js";
export {
  COST_CLASSES, COST_EVENTS, COST_KEYS, DEFAULT_COSTS, defaultCostModel, parseCostModel,
  type CostModel, type CostEvent, type CostKey, type CostEntry,
} from "./cost-model.js";
export { causeName, formatStats, emptyStats, type MachineStats } from "./stats.js";
export { EXIT_STATUS, type RunResult, type StopReason } from "./diagnosis.js";
export { PORT, OPEN_BUS } from "./bus/ports.js";
export { bytesInput, type ConsoleInput } from "./devices/console.js";
export { memoryDisk, SECTOR_SIZE, DISK_LATENCY_CYCLES, DISK_CMD, DISK_STATUS, type DiskBacking } from "./devices/disk.js";
export { DEFAULT_RAM_SIZE, PAGE_SIZE } from "./memory.js";
