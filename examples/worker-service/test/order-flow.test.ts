// End to end: an order submitted through tasker/client runs on this worker. Needs Tasker at
// TASKER_URL (orchestration loading templates/, and this worker running).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { TaskerClient, TaskerRequestError } from 'tasker/client';

const url = process.env.TASKER_URL;
if (!url) throw new Error('set TASKER_URL to an orchestration serving templates/ (see README.md)');
const client = new TaskerClient({ baseUrl: url, apiKey: process.env.TASKER_API_KEY });

test('an order is validated, reserved, charged after one retry, and shipped', async () => {
  const orderId = randomUUID();
  const task = await client.tasks.createAndWait(
    {
      namespace: 'shop',
      name: 'fulfil_order',
      idempotencyKey: orderId,
      context: {
        orderId,
        items: [{ sku: 'tea-green', quantity: 3, unitPriceCents: 450 }],
        paymentBusyOnce: true,
      },
    },
    { timeoutMs: 30_000, pollIntervalMs: 100 },
  );
  assert.equal(task.status, 'complete');
  const steps = Object.fromEntries(task.steps.map((step) => [step.name, step]));
  assert.deepEqual(steps.validate?.result, { orderId, totalCents: 1350, units: 3 });
  assert.equal(steps.charge_payment?.attempts, 2);
  assert.deepEqual(steps.ship?.result, {
    shipmentId: `ship-${orderId}`,
    paymentId: `pay-${orderId}-2`,
  });

  // The same order again is the same task: the API refuses it with the domain code.
  await assert.rejects(
    client.tasks.create({
      namespace: 'shop',
      name: 'fulfil_order',
      idempotencyKey: orderId,
      context: task.context,
    }),
    (err: unknown) => err instanceof TaskerRequestError && err.code === 'duplicate_task',
  );
});

test('an order for an unknown product fails without retrying', async () => {
  const orderId = randomUUID();
  const task = await client.tasks.createAndWait(
    {
      namespace: 'shop',
      name: 'fulfil_order',
      idempotencyKey: orderId,
      context: { orderId, items: [{ sku: 'kettle', quantity: 1, unitPriceCents: 3000 }] },
    },
    { timeoutMs: 30_000, pollIntervalMs: 100 },
  );
  assert.equal(task.status, 'error');
  const validate = task.steps.find((step) => step.name === 'validate');
  assert.equal(validate?.attempts, 1);
  assert.match(String(validate?.error?.message), /unknown products: kettle/);
});

test('a Tasker Core handler class writes the gift note of its Tasker Core template', async () => {
  const orderId = randomUUID();
  const task = await client.tasks.createAndWait(
    { namespace: 'shop', name: 'gift_note', context: { orderId, recipient: 'Ada' } },
    { timeoutMs: 30_000, pollIntervalMs: 100 },
  );
  assert.equal(task.status, 'complete');
  assert.deepEqual(task.steps[0]?.result, { note: 'Dear Ada, enjoy your tea! The Tea Shop' });
});
