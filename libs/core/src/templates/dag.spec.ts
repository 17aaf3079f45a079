import { findDagProblems, topologicalOrder } from './dag.js';

const s = (name: string, ...dependsOn: string[]) => ({ name, dependsOn });
const names = (steps: { name: string }[]) => steps.map((x) => x.name);

describe('findDagProblems', () => {
  it('accepts a valid diamond', () => {
    expect(
      findDagProblems([
        s('start'),
        s('left', 'start'),
        s('right', 'start'),
        s('end', 'left', 'right'),
      ]),
    ).toEqual([]);
  });

  it('reports a duplicate step name once, naming the step', () => {
    expect(findDagProblems([s('a'), s('b'), s('a'), s('a')])).toEqual([
      "duplicate step name 'a' (defined 3 times)",
    ]);
  });

  it('reports an unknown dependency naming the step and the missing dependency', () => {
    expect(findDagProblems([s('a'), s('b', 'a', 'nope')])).toEqual([
      "step 'b': depends on unknown step 'nope'",
    ]);
  });

  it('reports a self-dependency (and not as a cycle)', () => {
    expect(findDagProblems([s('a', 'a')])).toEqual(["step 'a': depends on itself"]);
  });

  it('reports a cycle with its path, starting from the step first in the file', () => {
    // a runs after c, b after a, c after b.
    expect(findDagProblems([s('a', 'c'), s('b', 'a'), s('c', 'b'), s('d', 'c')])).toEqual([
      'cycle: a -> b -> c -> a',
    ]);
  });

  it('reports a two-step cycle and keeps the acyclic rest quiet', () => {
    expect(findDagProblems([s('root'), s('x', 'root', 'y'), s('y', 'x')])).toEqual([
      'cycle: x -> y -> x',
    ]);
  });

  it('reports every kind of problem together', () => {
    const problems = findDagProblems([s('a', 'b'), s('b', 'a'), s('c', 'c'), s('c'), s('d', 'zz')]);
    expect(problems).toEqual([
      "duplicate step name 'c' (defined 2 times)",
      "step 'c': depends on itself",
      "step 'd': depends on unknown step 'zz'",
      'cycle: a -> b -> a',
    ]);
  });
});

describe('topologicalOrder', () => {
  it('puts every step after its dependencies', () => {
    const ordered = topologicalOrder([
      s('end', 'left', 'right'),
      s('left', 'start'),
      s('right', 'start'),
      s('start'),
    ]);
    expect(names(ordered)).toEqual(['start', 'left', 'right', 'end']);
  });

  it('keeps file order among independent steps and leaves an ordered input unchanged', () => {
    const input = [s('b'), s('a'), s('c', 'a'), s('z'), s('y', 'z', 'b')];
    expect(names(topologicalOrder(input))).toEqual(['b', 'a', 'c', 'z', 'y']);
    expect(names(topologicalOrder([s('c', 'b'), s('a'), s('b')]))).toEqual(['a', 'b', 'c']);
  });

  it('returns the same step objects', () => {
    const step = { ...s('only'), extra: 1 };
    expect(topologicalOrder([step])[0]).toBe(step);
  });

  it('throws on a graph that is not a DAG', () => {
    expect(() => topologicalOrder([s('a', 'b'), s('b', 'a')])).toThrow('cycle: a -> b -> a');
  });
});
