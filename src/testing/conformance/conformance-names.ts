/** Identifiers and keys outside the grammar, with why. */
export const INVALID_NAMES: readonly [string, string][] = [
  ['empty', ''],
  ['dot', '.'],
  ['dot dot', '..'],
  ['slash', 'a/b'],
  ['parent path', '../x'],
  ['backslash', 'a\\b'],
  ['NUL', 'a\u0000b'],
  ['newline', 'line\nbreak'],
  ['tab', 'a\tb'],
  ['DEL', 'a\u007fb'],
  ['C1 control', 'a\u0085b'],
  ['256 characters', 'x'.repeat(256)],
  ['lone high surrogate', 'k\uD800'],
  ['lone low surrogate', 'k\uDFFF'],
  ['reversed surrogate pair', 'a\uDE00\uD83Db'],
];

/** Identifiers inside the grammar that media may find awkward; all must round-trip. */
export const AWKWARD_VALID_NAMES: readonly string[] = [
  'x'.repeat(255),
  'é'.repeat(255),
  '😀'.repeat(127),
  'with space',
  '...',
  '.hidden',
  '%41',
  '~tilde',
  'UPPER',
  'upper',
  'a:b*c?d"e<f>g|h',
  'quote\'and"double',
  'manifest.json',
  'checkpointable.json',
  'pair \uD83D\uDE00 of surrogates',
  '__proto__',
  'constructor',
];
