import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Checkpointable, CheckpointField, CheckpointManager, MemoryStorage } from 'checkpointable';

@Checkpointable({ name: 'Graph.Node' })
class GraphNode {
  @CheckpointField() label!: string;
  @CheckpointField({ type: () => GraphNode }) links: GraphNode[] = [];
  @CheckpointField({ type: () => GraphNode }) byName: Map<string, GraphNode> = new Map();
}

@Checkpointable({ name: 'Graph.Special' })
class SpecialNode extends GraphNode {
  @CheckpointField() weight!: bigint;
}

const manager = new CheckpointManager(MemoryStorage.create());
afterAll(() => manager.close());

/** Random graphs: any node may link to any node, itself included (cycles, shared nodes). */
const graphs = fc.integer({ min: 1, max: 12 }).chain((size) =>
  fc.record({
    special: fc.array(fc.boolean(), { minLength: size, maxLength: size }),
    edges: fc.array(fc.tuple(fc.nat(size - 1), fc.nat(size - 1), fc.boolean()), {
      maxLength: 30,
    }),
  }),
);

function build({ special, edges }: { special: boolean[]; edges: [number, number, boolean][] }) {
  const nodes = special.map((s, i) => {
    const node = s ? Object.assign(new SpecialNode(), { weight: BigInt(i) }) : new GraphNode();
    node.label = `n${i}`;
    return node;
  });
  for (const [from, to, viaMap] of edges) {
    if (viaMap) nodes[from].byName.set(`to-n${to}`, nodes[to]);
    else nodes[from].links.push(nodes[to]);
  }
  return nodes;
}

describe('object graphs', () => {
  it('restores random graphs of instances with the same shape: one object per node, every edge in place', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(graphs, async (spec) => {
        const nodes = build(spec);
        const id = `graph-${n++}`;
        await manager.save(id, { nodes });
        const restored = await manager.restore<GraphNode[]>(id, 'nodes');
        const index = new Map(restored.map((node, i) => [node, i]));
        expect(index.size).toBe(nodes.length); // no node duplicated
        nodes.forEach((original, i) => {
          const copy = restored[i];
          expect(copy.constructor).toBe(original.constructor);
          expect(copy.label).toBe(original.label);
          if (original instanceof SpecialNode) {
            expect((copy as SpecialNode).weight).toBe(original.weight);
          }
          expect(copy.links.map((l) => index.get(l))).toEqual(
            original.links.map((l) => nodes.indexOf(l)),
          );
          expect([...copy.byName].map(([k, v]) => [k, index.get(v)])).toEqual(
            [...original.byName].map(([k, v]) => [k, nodes.indexOf(v)]),
          );
        });
      }),
      { numRuns: 80 },
    );
  });
});
