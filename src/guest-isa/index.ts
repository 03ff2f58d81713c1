// Public surface of the guest ISA package.
export * from "./isa-table.js";
export * from "./registers.js";
export * from "./encoding.js";
export * from "./diagnostics.js";
export * from "./elf-types.js";
export * from "./pseudo-table.js";
export * from "./softlayer.js";
export type * from "./assembler/ast.js";
export { parseAssembly } from "./assembler/parser.js";
export { EM_G32, readElf, writeElf } from "./elf.js";
export { disassembleImage, disassembleInstruction, disassembleText, type DisassemblyOptions, type SymbolAt } from "./disassembler.js";
export { checkImageLayout, imageLayoutProblem, sectionNameProblem, CODE_ALIGN, RESERVED_SECTION_NAMES } from "./image-check.js";
export { MAX_EXPRESSION_DEPTH } from "./assembler/parser.js";
export { assemble, TEXT_BASE, PAGE_SIZE, type AssemblySource, type AssembleOptions } from "./assembler/index.js";
export type { ParseOptions } from "./assembler/parser.js";
