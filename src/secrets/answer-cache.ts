/**
 * Read answers (an inspect's or a list's JSON text) kept for as long as the store's read
 * generation (Store.readGeneration) stays the same: any committed write changes it, and then
 * every answer kept is dropped at once. A repeated read then costs no store lookup and no
 * serialisation. Only answers are kept, never errors, and never a value: views hold none.
 */

/** Enough for every secret's inspect by ID and by name, and then some lists. */
const MAX_ENTRIES = 8192;
/** Characters kept in all, keys (a filter's text) and answers: a list of all can be large, and is cheap to render again. */
const MAX_CHARS = 16 * 1024 * 1024;

export class AnswerCache {
  private generation: number | undefined;
  private readonly answers = new Map<string, string>();
  private chars = 0;

  /** The answer kept for `key` at `generation`, if any. */
  get(generation: number, key: string): string | undefined {
    if (generation !== this.generation) return undefined;
    return this.answers.get(key);
  }

  /** Keeps `text` as the answer for `key`, read at `generation` (the generation before the read began). */
  set(generation: number, key: string, text: string): void {
    if (generation !== this.generation) {
      this.answers.clear();
      this.chars = 0;
      this.generation = generation;
    }
    const size = key.length + text.length;
    if (size > MAX_CHARS) return;
    if (this.answers.size >= MAX_ENTRIES || this.chars + size > MAX_CHARS) {
      this.answers.clear();
      this.chars = 0;
    }
    const before = this.answers.get(key);
    if (before !== undefined) this.chars -= key.length + before.length;
    this.answers.set(key, text);
    this.chars += size;
  }
}
