import { renderGraphMermaid, renderGraphText, stepLevels } from './template-graph.js';

const diamond = {
  namespace: 'examples',
  name: 'diamond',
  version: '1.0.0',
  steps: [
    { name: 'end', handler: 'examples.sum', dependsOn: ['left', 'right'] },
    { name: 'start', handler: 'examples.square', dependsOn: [] },
    { name: 'left', handler: 'examples.square', dependsOn: ['start'] },
    { name: 'right', handler: 'examples.square', dependsOn: ['start'] },
  ],
};

describe('template graph', () => {
  it('levels each step one below its deepest dependency, whatever the input order', () => {
    expect(Object.fromEntries(stepLevels(diamond.steps))).toEqual({
      end: 3,
      start: 1,
      left: 2,
      right: 2,
    });
  });

  it('prints the steps by level with what they run after', () => {
    expect(renderGraphText(diamond)).toBe(
      [
        'examples/diamond@1.0.0: 4 steps, 3 levels',
        'LEVEL  STEP   HANDLER          AFTER',
        '1      start  examples.square  -',
        '2      left   examples.square  start',
        '2      right  examples.square  start',
        '3      end    examples.sum     left, right',
      ].join('\n'),
    );
  });

  it('draws a Mermaid flowchart whose ids cannot clash with Mermaid keywords', () => {
    expect(renderGraphMermaid(diamond)).toBe(
      [
        'flowchart TD',
        '  s_end["end<br/>examples.sum"]',
        '  s_start["start<br/>examples.square"]',
        '  s_left["left<br/>examples.square"]',
        '  s_right["right<br/>examples.square"]',
        '  s_left --> s_end',
        '  s_right --> s_end',
        '  s_start --> s_left',
        '  s_start --> s_right',
      ].join('\n'),
    );
  });

  const dynamic = {
    namespace: 'ops',
    name: 'review',
    version: '1.0.0',
    steps: [
      { name: 'route', handler: 'h.route', kind: 'decision' as const, dependsOn: [] },
      { name: 'quick', handler: 'h.quick', dependsOn: ['route'] },
      { name: 'split', handler: 'h.split', kind: 'batchable' as const, dependsOn: ['route'] },
      { name: 'part', handler: 'h.part', kind: 'batch_worker' as const, dependsOn: ['split'] },
      {
        name: 'merge',
        handler: 'h.merge',
        kind: 'deferred_convergence' as const,
        dependsOn: ['quick', 'part'],
      },
    ],
  };

  it('types each step and says what decisions, batches and convergence steps do', () => {
    expect(renderGraphText(dynamic)).toBe(
      [
        'ops/review@1.0.0: 5 steps, 4 levels',
        'LEVEL  STEP   TYPE                  HANDLER  AFTER',
        '1      route  decision              h.route  -',
        '2      quick  standard              h.quick  route',
        '2      split  batchable             h.split  route',
        '3      part   batch_worker          h.part   split',
        '4      merge  deferred_convergence  h.merge  quick, part',
        'decision route: creates the branches its outcome names, of quick, split',
        'batch split: makes part_001, part_002, … (one per batch) from part',
        'convergence merge: waits for whichever of quick, part exist',
      ].join('\n'),
    );
  });

  it('draws decisions, batch workers and convergence edges apart', () => {
    expect(renderGraphMermaid(dynamic)).toBe(
      [
        'flowchart TD',
        '  s_route{"route<br/>h.route"}',
        '  s_quick["quick<br/>h.quick"]',
        '  s_split["split<br/>h.split"]',
        '  s_part[["part<br/>h.part"]]',
        '  s_merge["merge<br/>h.merge"]',
        '  s_route -.-> s_quick',
        '  s_route -.-> s_split',
        '  s_split ==>|batches| s_part',
        '  s_quick -.-> s_merge',
        '  s_part -.-> s_merge',
      ].join('\n'),
    );
  });
});
