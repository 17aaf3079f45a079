import { defineHandler, PermanentStepError, type StepView } from '#core';
import { describeSetup, type MessagingSetup, TaskerHarness } from './support/tasker-harness.js';

/**
 * Decision points and deferred convergence (Tasker Core's dynamic workflows), end to end on
 * each backend with templates in Tasker Core's format: a decision step's result names the
 * branches to create, orchestration creates them (and what follows them) in the unit of work
 * that completes the decision, and a convergence step waits for whichever of its possible
 * parents exist.
 */
const APPROVAL = `
name: approval_routing
namespace_name: decisions
version: 1.0.0
input_schema:
  type: object
  required: [amount]
  properties: { amount: { type: number, minimum: 0 } }
steps:
  - name: validate_request
    handler: { callable: approvals.validate }
  - name: routing_decision
    type: decision
    dependencies: [validate_request]
    handler: { callable: approvals.route }
  - name: auto_approve
    dependencies: [routing_decision]
    handler: { callable: approvals.approve, initialization: { approver: system } }
  - name: manager_approval
    dependencies: [routing_decision]
    handler: { callable: approvals.approve, initialization: { approver: manager } }
  - name: finance_review
    dependencies: [routing_decision]
    handler: { callable: approvals.approve, initialization: { approver: finance } }
  - name: finalize_approval
    type: deferred_convergence
    dependencies: [auto_approve, manager_approval, finance_review]
    handler: { callable: approvals.finalize }
`;

/** Nested decisions: by region, then (in the EU) by tier; every path converges on `merge`. */
const TREE = `
name: regional
namespace_name: decisions
version: 1.0.0
steps:
  - name: by_region
    type: decision
    handler: { callable: tree.pick, initialization: { field: region } }
  - name: eu
    dependencies: [by_region]
    handler: { callable: tree.leaf }
  - name: us
    dependencies: [by_region]
    handler: { callable: tree.leaf }
  - name: by_tier
    type: decision
    dependencies: [eu]
    handler: { callable: tree.pick, initialization: { field: tier } }
  - name: gold
    dependencies: [by_tier]
    handler: { callable: tree.leaf }
  - name: basic
    dependencies: [by_tier]
    handler: { callable: tree.leaf }
  - name: merge
    type: deferred_convergence
    dependencies: [us, gold, basic]
    handler: { callable: approvals.finalize }
  - name: report
    dependencies: [merge]
    handler: { callable: tree.leaf }
`;

const AMOUNT_ROUTES: [number, string[]][] = [
  [1000, ['auto_approve']],
  [5000, ['manager_approval']],
  [Infinity, ['manager_approval', 'finance_review']],
];

const HANDLERS = [
  defineHandler('approvals.validate', (ctx) => {
    const amount = ctx.context.amount as number;
    if (amount > 1_000_000) throw new PermanentStepError(`amount ${amount} is over the limit`);
    return { amount };
  }),
  // Routes by amount; context.route overrides it (to send a bad outcome).
  defineHandler('approvals.route', (ctx) => {
    const amount = (ctx.dependencyResults.validate_request as { amount: number }).amount;
    const override = ctx.context.route as string[] | 'none' | undefined;
    if (override === 'none') return { decision_point_outcome: { type: 'no_branches' } };
    const steps = override ?? AMOUNT_ROUTES.find(([below]) => amount < below)![1];
    return {
      decision_point_outcome: { type: 'create_steps', step_names: steps },
      route: steps.join('+'),
    };
  }),
  defineHandler('approvals.approve', (ctx) => ({ approvedBy: ctx.config.approver })),
  defineHandler('approvals.finalize', (ctx) => ({
    after: Object.keys(ctx.dependencyResults).sort(),
  })),
  defineHandler('tree.pick', (ctx) => {
    const choice = ctx.context[ctx.config.field as string] as string;
    return { decision_point_outcome: { type: 'create_steps', step_names: [choice] } };
  }),
  defineHandler('tree.leaf', (ctx) => ({ leaf: ctx.stepName })),
];

const SETUPS: readonly MessagingSetup[] = [
  { backend: 'pgmq', eventMode: 'Hybrid' },
  { backend: 'rabbitmq' },
];

const byName = (steps: StepView[]) => Object.fromEntries(steps.map((s) => [s.name, s]));
const namesOf = (steps: StepView[]) => steps.map((s) => s.name).sort();

describe.each(SETUPS.map((setup) => [describeSetup(setup), setup] as const))(
  'decision points over %s',
  (_label, setup) => {
    let tasker: TaskerHarness;

    beforeAll(async () => {
      tasker = await TaskerHarness.start({
        ...setup,
        handlers: HANDLERS,
        templates: { 'approval.yaml': APPROVAL, 'tree.yaml': TREE },
      });
    });

    afterAll(() => tasker?.stop());

    const run = async (name: string, context: Record<string, unknown>) => {
      const reply = await tasker.request<{ stepCount: number; taskUuid: string }>(
        'POST',
        '/v1/tasks',
        { namespace: 'decisions', name, context },
      );
      expect(reply.status).toBe(201);
      return {
        created: reply.body.stepCount,
        task: await tasker.waitForStatus(reply.body.taskUuid, ['complete', 'error']),
      };
    };

    it.each([
      [250, ['auto_approve'], ['system']],
      [2500, ['manager_approval'], ['manager']],
      [25000, ['finance_review', 'manager_approval'], ['finance', 'manager']],
    ])('routes an amount of %d through %j', async (amount, branches, approvers) => {
      const { created, task } = await run('approval_routing', { amount });
      expect(created).toBe(2);
      expect(task.status).toBe('complete');
      expect(namesOf(task.steps)).toEqual(
        ['finalize_approval', 'routing_decision', 'validate_request', ...branches].sort(),
      );
      const steps = byName(task.steps);
      expect(steps.finalize_approval!.dependsOn.sort()).toEqual(branches);
      // The task view says which branches the decision took, and what each step is.
      expect(steps.routing_decision).toMatchObject({ kind: 'decision', createdSteps: branches });
      expect(steps.finalize_approval).toMatchObject({
        kind: 'deferred_convergence',
        template: 'finalize_approval',
        createdSteps: null,
      });
      expect(steps.finalize_approval!.result).toEqual({ after: branches });
      expect(
        branches.map((b) => (steps[b]!.result as { approvedBy: string }).approvedBy).sort(),
      ).toEqual(approvers);
      expect(task.steps.every((s) => s.state === 'complete')).toBe(true);
    });

    it('converges at once when the decision takes no branch', async () => {
      const { task } = await run('approval_routing', { amount: 10, route: 'none' });
      expect(task.status).toBe('complete');
      expect(namesOf(task.steps)).toEqual([
        'finalize_approval',
        'routing_decision',
        'validate_request',
      ]);
      expect(byName(task.steps).routing_decision!.createdSteps).toEqual([]);
      expect(byName(task.steps).finalize_approval).toMatchObject({
        dependsOn: [],
        result: { after: [] },
      });
    });

    it.each([
      [{ region: 'us' }, ['us']],
      [{ region: 'eu', tier: 'gold' }, ['eu', 'by_tier', 'gold']],
      [{ region: 'eu', tier: 'basic' }, ['eu', 'by_tier', 'basic']],
    ])('follows nested decisions for %j', async (context, path) => {
      const { created, task } = await run('regional', context);
      expect(created).toBe(1);
      expect(task.status).toBe('complete');
      expect(namesOf(task.steps)).toEqual(['by_region', 'merge', 'report', ...path].sort());
      const steps = byName(task.steps);
      const leaf = path[path.length - 1]!;
      expect(steps.merge!.dependsOn).toEqual([leaf]);
      expect(steps.merge!.result).toEqual({ after: [leaf] });
      expect(steps.report!.result).toEqual({ leaf: 'report' });
    });

    it('fails a decision whose outcome names a step it may not create, creating nothing', async () => {
      const { task } = await run('approval_routing', {
        amount: 10,
        route: ['auto_approve', 'finalize_approval'],
      });
      expect(task.status).toBe('error');
      expect(namesOf(task.steps)).toEqual(['routing_decision', 'validate_request']);
      const decision = byName(task.steps).routing_decision!;
      expect(decision.state).toBe('error');
      expect(decision.attempts).toBe(1);
      expect(decision.error).toMatchObject({
        errorClass: 'InvalidOutcome',
        message:
          "decision 'routing_decision' may create only its declared branches (auto_approve, manager_approval, finance_review); 'finalize_approval' is not among them",
      });
    });

    it('lets an operator make the decision of a failed decision step', async () => {
      const { task } = await run('approval_routing', { amount: 10, route: ['nope'] });
      expect(task.status).toBe('error');
      const decision = byName(task.steps).routing_decision!;
      const path = `/v1/tasks/${task.taskUuid}/steps/${decision.stepUuid}`;

      const before = await tasker.rowCounts();
      const bad = await tasker.request<{ message: string }>('PATCH', path, {
        action: 'complete_manually',
        operator: 'ops',
        reason: 'route by hand',
        result: { decision_point_outcome: { type: 'create_steps', step_names: ['nope'] } },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.message).toContain("'nope' is not among them");
      expect(await tasker.rowCounts()).toEqual(before);

      const good = await tasker.request('PATCH', path, {
        action: 'complete_manually',
        operator: 'ops',
        reason: 'route by hand',
        result: {
          decision_point_outcome: { type: 'create_steps', step_names: ['finance_review'] },
        },
      });
      expect(good.status).toBe(200);
      const done = await tasker.waitForStatus(task.taskUuid, ['complete']);
      expect(byName(done.steps).finalize_approval!.result).toEqual({ after: ['finance_review'] });
    });
  },
);
