// The handlers are plain functions of a context: test them without Tasker running.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PermanentStepError, RetryableStepError, type StepHandlerContext } from 'tasker/worker';
import { chargePayment, reserveStock, shipOrder, validateOrder } from '../src/handlers.js';

function context(overrides: Partial<StepHandlerContext> = {}): StepHandlerContext {
  return {
    taskUuid: 'task-1',
    stepUuid: 'step-1',
    stepName: 'test',
    context: { orderId: 'o-1', items: [{ sku: 'mug', quantity: 2, unitPriceCents: 750 }] },
    inputs: {},
    config: {},
    dependencyResults: { validate: { orderId: 'o-1', totalCents: 1500, units: 2 } },
    attempt: 1,
    maxAttempts: 3,
    correlationId: 'task-1',
    signal: new AbortController().signal,
    traceparent: null,
    checkpoint: null,
    ...overrides,
  };
}

test('validate totals the order', async () => {
  assert.deepEqual(await validateOrder.run(context()), {
    orderId: 'o-1',
    totalCents: 1500,
    units: 2,
  });
});

test('an unknown product fails permanently', () => {
  const order = { orderId: 'o-2', items: [{ sku: 'kettle', quantity: 1, unitPriceCents: 1 }] };
  assert.throws(() => validateOrder.run(context({ context: order })), PermanentStepError);
});

test('stock is reserved only when there is enough', async () => {
  assert.deepEqual(await reserveStock.run(context()), { reserved: 2 });
  const order = { orderId: 'o-3', items: [{ sku: 'mug', quantity: 6, unitPriceCents: 750 }] };
  assert.throws(() => reserveStock.run(context({ context: order })), /not enough stock: mug/);
});

test('a busy payment provider asks for a retry, and the next attempt charges', async () => {
  const busy = { ...context().context, paymentBusyOnce: true };
  assert.throws(() => chargePayment.run(context({ context: busy })), RetryableStepError);
  assert.deepEqual(await chargePayment.run(context({ context: busy, attempt: 2 })), {
    paymentId: 'pay-o-1-2',
    chargedCents: 1500,
  });
});

test('ship reads both parents', async () => {
  const dependencyResults = {
    reserve_stock: { reserved: 2 },
    charge_payment: { paymentId: 'pay-o-1-1', chargedCents: 1500 },
  };
  assert.deepEqual(await shipOrder.run(context({ dependencyResults })), {
    shipmentId: 'ship-o-1',
    paymentId: 'pay-o-1-1',
  });
});
