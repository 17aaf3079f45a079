import type { ConfigType } from '@nestjs/config';
import { orchestrationConfig } from '#config';
import { type MessageEnvelope, workerQueueName } from '#contracts';
import { ConsumedQueues, InMemoryMessageBus, QueueDepths } from '#messaging';
import { TaskerMetrics } from '#observability';
import { Database, ProcessIdentity } from '#persistence';
import { useOrchestrationReplicas } from '../testing/orchestration-replicas.js';
import { type Announcement, StepAnnouncer } from './step-announcer.service.js';

/** A broker that takes each batch only when the test lets it, and says which it was sent. */
class GatedBus extends InMemoryMessageBus {
  readonly sent: string[][] = [];
  private readonly gates: (() => void)[] = [];

  override async sendBatch(queue: string, messages: readonly MessageEnvelope[]): Promise<void> {
    this.sent.push(messages.map((m) => (m.payload as { stepUuid: string }).stepUuid));
    await new Promise<void>((resolve) => this.gates.push(resolve));
    await super.sendBatch(queue, messages);
  }

  /** Lets the oldest batch in flight through. */
  release(): void {
    this.gates.shift()?.();
  }
}

/** Whether `promise` has settled after the event loop ran a while. */
async function settles(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.finally(() => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, 50));
  return settled;
}

describe('StepAnnouncer.announceBehind', () => {
  const env = useOrchestrationReplicas(1);

  const announcement = (step: string): Announcement => ({
    taskUuid: '0190c0de-0000-7000-8000-000000000001',
    namespace: 'behind',
    correlationId: 'behind',
    traceparent: null,
    steps: [{ stepUuid: step, stepName: 'only' }],
  });

  it('answers before the broker took its batch, holds the next caller until then, and shutdown waits for it', async () => {
    const app = env.replicas[0]!;
    const bus = new GatedBus();
    await bus.ensureQueue(workerQueueName('behind'));
    const announcer = new StepAnnouncer(
      bus,
      app.get(Database),
      app.get(ProcessIdentity),
      // Its own registry: the app's has the announcer's metrics already.
      new TaskerMetrics(bus, new ConsumedQueues(), new QueueDepths(bus, new ConsumedQueues())),
      app.get<ConfigType<typeof orchestrationConfig>>(orchestrationConfig.KEY),
    );
    const first = '0190c0de-0000-7000-8000-00000000000a';
    const second = '0190c0de-0000-7000-8000-00000000000b';

    // The first caller goes on while its batch is still with the broker.
    await announcer.announceBehind([announcement(first)]);
    expect(bus.sent).toEqual([[first]]);

    // The next one waits for that batch before it starts its own.
    const next = announcer.announceBehind([announcement(second)]);
    expect(await settles(next)).toBe(false);
    expect(bus.sent).toEqual([[first]]);
    bus.release();
    await next;
    expect(bus.sent).toEqual([[first], [second]]);

    // Shutdown waits for the batch still in flight.
    const shutdown = announcer.beforeApplicationShutdown();
    expect(await settles(shutdown)).toBe(false);
    bus.release();
    await shutdown;
    const received = await bus.receive(workerQueueName('behind'), {
      maxMessages: 10,
      visibilityTimeoutMs: 30_000,
    });
    expect(
      received.map((m) => (m.body as { payload: { stepUuid: string } }).payload.stepUuid),
    ).toEqual([first, second]);
  });
});
