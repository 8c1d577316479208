import {
  Checkpointable,
  CheckpointField,
  CheckpointManager,
  FileStorage,
  MemoryStorage,
  type Storage,
} from 'checkpointable';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exactMismatch } from '../fixtures/reliability/exact';

const STRESS = process.env.STRESS === '1';
const RUNS = STRESS ? 2000 : 150;
/** Not a speed limit: only a guard against a hang, sized for the stress run. */
const HANG_GUARD_MS = STRESS ? 3600_000 : 600_000;

/** At version 2, so that its subclass stores a parent version and list() reports it. */
@Checkpointable({ name: 'PropertyNode', version: 2, migrations: { 1: (data) => data } })
class GraphNode {
  @CheckpointField() id!: number;
  @CheckpointField() label!: string;
  @CheckpointField() at!: Date;
  @CheckpointField() weight!: bigint;
  @CheckpointField({ type: () => GraphNode }) children!: GraphNode[];
  @CheckpointField({ type: () => GraphNode }) friend!: GraphNode | null;
  @CheckpointField() tags!: Set<string>;
  @CheckpointField({ type: () => Number }) scores!: Map<string, number>;
}

/** A subclass, so a field typed as the base class holds it (polymorphism). */
@Checkpointable({ name: 'PropertySpecialNode' })
class SpecialNode extends GraphNode {
  @CheckpointField() secret!: string;
}

@Checkpointable({ name: 'PropertyGraph' })
class Graph {
  @CheckpointField() name!: string;
  @CheckpointField({ type: () => GraphNode }) nodes!: GraphNode[];
  @CheckpointField({ type: () => GraphNode }) root!: GraphNode | null;
}

const nodeSpec = fc.record({
  special: fc.boolean(),
  label: fc.string(),
  at: fc.date({ noInvalidDate: false }),
  weight: fc.bigInt(),
  tags: fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
  scores: fc.array(fc.tuple(fc.string({ maxLength: 3 }), fc.double()), { maxLength: 3 }),
  secret: fc.string(),
});

/** Graphs of 1 to 12 nodes with random child and friend edges: sharing and cycles. */
const graphs = fc
  .tuple(
    fc.array(nodeSpec, { minLength: 1, maxLength: 12 }),
    fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 20 }),
    fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 12 }),
    fc.option(fc.nat()),
  )
  .map(([specs, childEdges, friendEdges, rootAt]) => {
    const nodes = specs.map((s, id) => {
      const node = s.special ? new SpecialNode() : new GraphNode();
      Object.assign(node, {
        id,
        label: s.label,
        at: s.at,
        weight: s.weight,
        children: [],
        friend: null,
        tags: new Set(s.tags),
        scores: new Map(s.scores),
      });
      if (node instanceof SpecialNode) node.secret = s.secret;
      return node;
    });
    for (const [from, to] of childEdges) {
      nodes[from % nodes.length].children.push(nodes[to % nodes.length]);
    }
    for (const [from, to] of friendEdges)
      nodes[from % nodes.length].friend = nodes[to % nodes.length];
    return Object.assign(new Graph(), {
      name: `graph of ${nodes.length}`,
      nodes,
      root: rootAt === null ? null : nodes[rootAt % nodes.length],
    });
  });

const root = mkdtempSync(join(tmpdir(), 'cp-manager-prop-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const STORAGES: [string, () => Promise<Storage>][] = [
  ['MemoryStorage', async () => MemoryStorage.create()],
  ['FileStorage (atomic)', () => FileStorage.open(join(root, 'store'), { durability: 'atomic' })],
];

describe('manager property: arbitrary graphs of @Checkpointable classes round-trip exactly', () => {
  for (const [name, open] of STORAGES) {
    it(
      `save + restore on ${name} (${RUNS} graphs)`,
      async () => {
        const manager = new CheckpointManager(await open());
        let n = 0;
        let withSubclass = 0;
        try {
          await fc.assert(
            fc.asyncProperty(graphs, async (graph) => {
              const id = `graph-${n++}`;
              const info = await manager.save(id, { graph, first: graph.nodes[0] });
              // The classes with an instance in the graph, each with the version it was saved at.
              const has = (special: boolean) =>
                graph.nodes.some((x) => x instanceof SpecialNode === special);
              expect(info.classVersions).toEqual([
                { name: 'PropertyGraph', version: 1 },
                ...(has(false) ? [{ name: 'PropertyNode', version: 2 }] : []),
                ...(has(true) ? [{ name: 'PropertySpecialNode', version: 1 }] : []),
              ]);
              const back = await manager.restore(id, 'graph', Graph);
              expect(back).toBeInstanceOf(Graph);
              expect(exactMismatch(back, graph)).toBeUndefined();
              // Polymorphism: a SpecialNode in a GraphNode[] field comes back as SpecialNode.
              back.nodes.forEach((node, i) =>
                expect(Object.getPrototypeOf(node)).toBe(Object.getPrototypeOf(graph.nodes[i])),
              );
              if (graph.nodes.some((x) => x instanceof SpecialNode)) withSubclass++;
              const all = await manager.restoreAll(id);
              expect(exactMismatch(all.first, graph.nodes[0])).toBeUndefined();
              await manager.remove(id);
            }),
            { numRuns: RUNS },
          );
        } finally {
          await manager.close();
        }
        expect(withSubclass).toBeGreaterThan(RUNS / 4);
      },
      HANG_GUARD_MS,
    );
  }
});
