// How the annotator hands out its text: in chunks of about 64 KiB, each
// passed to a writer as soon as it is full (`previrt annotate` writes each
// to the output file), so a million-line kernel's annotated text — some
// 40 MB — is never held whole unless someone asks for it as one string.
//
// Consumes: the pieces of the text in order (slices of the input, inserted
// labels and padding, the table's lines). Produces: calls of `write` with
// consecutive pieces of that text, which together are exactly the text.

/** Characters gathered before a chunk is written. */
const CHUNK = 1 << 16;

export type TextWriter = (chunk: string) => void;

export class ChunkWriter {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly write: TextWriter) {}

  /** Adds `s` (a long one is written in chunk-sized slices, never copied whole). */
  push(s: string): void {
    if (s.length >= CHUNK) {
      this.flush();
      // Each chunk is encoded to UTF-8 on its own.
      forEachSlice(s, this.write);
      return;
    }
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= CHUNK) this.flush();
  }

  /** Writes what is gathered (the end of the text). */
  flush(): void {
    if (this.parts.length === 0) return;
    const chunk = this.parts.length === 1 ? this.parts[0] : this.parts.join("");
    this.parts = [];
    this.size = 0;
    this.write(chunk);
  }
}

/** Hands `s` to `each` in consecutive slices of at most a chunk, never between the halves of a surrogate pair. */
export function forEachSlice(s: string, each: (slice: string) => void): void {
  for (let i = 0; i < s.length; ) {
    let end = Math.min(i + CHUNK, s.length);
    if (end < s.length && (s.charCodeAt(end - 1) & 0xfc00) === 0xd800) end--;
    each(s.slice(i, end));
    i = end;
  }
}

/** The whole text a producer writes, as one string. */
export function collectText(produce: (write: TextWriter) => void): string {
  const chunks: string[] = [];
  produce((c) => chunks.push(c));
  return chunks.join("");
}
