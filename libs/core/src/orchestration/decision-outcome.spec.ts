import {
  DEFAULT_RETRY_POLICY,
  type StepKind,
  type StepTemplate,
} from '../templates/task-template.js';
import { readDecisionOutcome } from './decision-outcome.js';

function step(name: string, kind: StepKind, ...dependsOn: string[]): StepTemplate {
  return {
    name,
    handler: `h.${name}`,
    dependsOn,
    retryable: true,
    retry: DEFAULT_RETRY_POLICY,
    timeoutSeconds: 30,
    inputs: {},
    kind,
  };
}

const template = {
  steps: [
    step('route', 'decision'),
    step('small', 'standard', 'route'),
    step('large', 'standard', 'route'),
    step('nested', 'decision', 'large'),
    step('deep', 'standard', 'nested'),
    step('done', 'deferred_convergence', 'small', 'large'),
  ],
};
const limits = { maxStepsPerDecision: 100, maxDecisionDepth: 20 };
const outcome = (o: unknown) => ({ decision_point_outcome: o });

describe('readDecisionOutcome', () => {
  it('reads the branches of create_steps, each once, and none of no_branches', () => {
    expect(
      readDecisionOutcome(
        template,
        'route',
        { ...outcome({ type: 'create_steps', step_names: ['large', 'small', 'large'] }), x: 1 },
        limits,
      ),
    ).toEqual({ branches: ['large', 'small'] });
    expect(
      readDecisionOutcome(template, 'route', outcome({ type: 'no_branches' }), limits),
    ).toEqual({ branches: [] });
  });

  it('explains a result without an outcome', () => {
    for (const result of [undefined, null, 42, [], { route: 'small' }]) {
      expect(readDecisionOutcome(template, 'route', result, limits)).toEqual({
        problem: expect.stringContaining(
          'decision \'route\' returned no decision_point_outcome; return {"decision_point_outcome": {"type": "create_steps"',
        ) as unknown,
      });
    }
  });

  it('explains an unknown outcome type and a create_steps without names', () => {
    expect(readDecisionOutcome(template, 'route', outcome({ type: 'maybe' }), limits)).toEqual({
      problem:
        'decision \'route\' returned decision_point_outcome.type "maybe"; use create_steps or no_branches',
    });
    for (const names of [undefined, [], ['small', 3]]) {
      expect(
        readDecisionOutcome(
          template,
          'route',
          outcome({ type: 'create_steps', step_names: names }),
          limits,
        ),
      ).toEqual({
        problem:
          "decision 'route' returned create_steps without a non-empty step_names list of step names (use no_branches to create none)",
      });
    }
  });

  it('refuses names that are not branches of this decision', () => {
    expect(
      readDecisionOutcome(
        template,
        'route',
        outcome({ type: 'create_steps', step_names: ['small', 'deep', 'done'] }),
        limits,
      ),
    ).toEqual({
      problem:
        "decision 'route' may create only its declared branches (small, large); 'deep', 'done' are not among them",
    });
  });

  it('refuses a decision nested deeper than allowed', () => {
    const result = outcome({ type: 'create_steps', step_names: ['deep'] });
    expect(readDecisionOutcome(template, 'nested', result, limits)).toEqual({
      branches: ['deep'],
    });
    expect(
      readDecisionOutcome(template, 'nested', result, { ...limits, maxDecisionDepth: 1 }),
    ).toEqual({
      problem: "decision 'nested' is nested 2 decisions deep; at most 1 are allowed",
    });
  });
});
