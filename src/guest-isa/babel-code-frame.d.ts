// Types for @babel/code-frame (the package ships none; only what
// diagnostics.ts uses).

declare module "@babel/code-frame" {
  export interface SourceLocation {
    start: { line: number; column?: number };
    end?: { line: number; column?: number };
  }
  export interface CodeFrameOptions {
    highlightCode?: boolean;
    forceColor?: boolean;
    linesAbove?: number;
    linesBelow?: number;
    startLine?: number;
    message?: string;
  }
  export function codeFrameColumns(rawLines: string, location: SourceLocation, options?: CodeFrameOptions): string;
}
