import { deadLetterQueueName, ORCHESTRATION_STEP_RESULTS_QUEUE } from '#contracts';
import { pollUntil } from '#testing';
import { TaskerHarness } from './support/tasker-harness.js';

/**
 * Any database role may NOTIFY on the apps' channels. A notice that is not what a Tasker sender
 * writes (not JSON, JSON null, another shape, other types) must not take a replica down, nor
 * its LISTEN connection: it is counted, logged and taken as "read this queue".
 */
describe('malformed notifications on a queue channel (EventDrivenOnly)', () => {
  const QUEUE = ORCHESTRATION_STEP_RESULTS_QUEUE;
  const CHANNEL = `tasker_message_ready.${QUEUE}`;
  const PAYLOADS = [
    'null',
    'not json',
    '{"queue":',
    '',
    '42',
    '"text"',
    '[]',
    '{}',
    `{"queue":"${QUEUE}","count":"many","visibleInMs":"soon"}`,
    `{"queue":"${QUEUE}","count":1,"visibleInMs":-1000}`,
    `{"queue":"another_queue","count":1,"visibleInMs":null}`,
  ];
  let tasker: TaskerHarness;

  beforeAll(async () => {
    tasker = await TaskerHarness.start({ backend: 'pgmq', eventMode: 'EventDrivenOnly' });
  });

  afterAll(async () => {
    await tasker?.stop();
  });

  const malformedCount = async () => {
    const text = await (await fetch(`${tasker.baseUrl}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('tasker_notifications_malformed_total '));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };

  it('stays up and ready, counts each one and reads the queue it names', async () => {
    const dlq = deadLetterQueueName(QUEUE);
    for (const [i, payload] of PAYLOADS.entries()) {
      // A message sent without a notice (a bad envelope, so reading it dead-letters it):
      // only the malformed notice can make this EventDrivenOnly replica read the queue.
      await tasker.pool.query(`SELECT pgmq.send($1, '{"bogus": true}'::jsonb)`, [QUEUE]);
      await tasker.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]);
      await pollUntil(
        () => tasker.queueLength(dlq),
        (n) => n === i + 1,
        { description: `the read caused by the notice ${JSON.stringify(payload)}` },
      );
      expect((await tasker.request('GET', '/health/ready')).status).toBe(200);
    }
    expect(tasker.bus().status().source).toBe('connected');
    // A fresh replica: each malformed notice counted once.
    expect(await malformedCount()).toBe(PAYLOADS.length);
    // Still a working replica: a task runs through the same listener.
    const taskUuid = await tasker.submit({
      namespace: 'examples',
      name: 'linear',
      context: { n: 1 },
    });
    expect((await tasker.waitForStatus(taskUuid, ['complete', 'error'])).status).toBe('complete');
  });
});
