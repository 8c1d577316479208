/**
 * The folders of src/ depend on each other one way only: a folder may import the folders
 * below it, never one that imports it back. A cycle between folders means data travels by
 * a side route (a slot one module fills and another reads) or a module sits in the wrong
 * folder.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '..', '..', 'src');

/** Cycles known today: none. A new one needs a move, not an entry here. */
const KNOWN_CYCLES: string[][] = [];

/** The folder of a file under src/; a file directly in src/ is its own node. */
function nodeOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length === 1 ? parts[0].replace(/\.ts$/, '') : parts[0];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Folder -> the folders it imports (static, type-only and dynamic imports alike). */
function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  const specifier =
    /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)'(\.{1,2}\/[^']*)'/gm;
  for (const file of sourceFiles(SRC)) {
    const from = nodeOf(file);
    const targets = graph.get(from) ?? new Set<string>();
    graph.set(from, targets);
    for (const match of readFileSync(file, 'utf8').matchAll(specifier)) {
      const to = nodeOf(resolve(dirname(file), match[1]));
      if (to !== from) targets.add(to);
    }
  }
  return graph;
}

/** The strongly connected groups of more than one folder (Tarjan), each sorted. */
function cycles(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) found.push(group.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('imports between the folders of src/', () => {
  it('finds a cycle when there is one (the check can fail)', () => {
    const graph = new Map([
      ['codec', new Set(['errors', 'decorators'])],
      ['decorators', new Set(['codec'])],
      ['errors', new Set<string>()],
    ]);
    expect(cycles(graph)).toEqual([['codec', 'decorators']]);
  });

  it('reads the real imports: the package index imports the codec layer', () => {
    const graph = folderGraph();
    expect(graph.get('decorators')).toContain('codec');
    expect(graph.get('index')).toContain('decorators');
    expect(graph.get('errors')).toEqual(new Set());
  });

  it('go downward only: no cycle but the known ones', () => {
    const unexpected = cycles(folderGraph()).filter(
      (group) => !KNOWN_CYCLES.some((known) => known.join() === group.join()),
    );
    expect(unexpected).toEqual([]);
  });

  it('keep the codec below the decorators: the codec is handed its classes', () => {
    expect(folderGraph().get('codec')).not.toContain('decorators');
  });
});
