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
});
