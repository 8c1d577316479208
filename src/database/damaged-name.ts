/**
 * An identifier or key found on the medium that no caller could have written: outside
 * the grammar (`a/b`, `..`, control characters), too long, not valid UTF-8, or not in
 * the stored form. Storages never list such names; `listDamaged()` reports them, so a
 * damaged row is never lost without a word.
 *
 * @example
 * ```ts
 * const damaged: DamagedName[] = await storage.listDamaged();
 * // [{ name: '../x', reason: "checkpoint identifier: it contains '/' at position 2" }]
 * ```
 */
export interface DamagedName {
  /** The name as found (cut at a few hundred characters when it was longer). */
  readonly name: string;
  /** What it is (an identifier, or a key of which checkpoint) and why it was skipped. */
  readonly reason: string;
}
