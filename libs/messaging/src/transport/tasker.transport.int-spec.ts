import { randomUUID } from 'node:crypto';
import {
  Controller,
  type DynamicModule,
  type INestApplication,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Payload } from '@nestjs/microservices';
import amqp from 'amqplib';
import pg from 'pg';
import type { MessageEnvelope, MessageType } from '#contracts';
import { createEnvelope, deadLetterQueueName } from '#contracts';
import { MessageBus } from '#core';
import { Database } from '#persistence';
import { createTestDatabase, createTestVhost, pollUntil } from '#testing';
import { PgmqMessageBus } from '../pgmq/pgmq.message-bus.js';
import { RabbitMqMessageBus } from '../rabbitmq/rabbitmq.message-bus.js';
import { ConsumedQueues } from './consumed-queues.js';
import { startTaskerTransport, TASKER_TRANSPORT } from './tasker.transport.js';

/** Deliveries the handler saw, by step name; 'poison' always fails. */
const deliveries = new Map<string, number>();

@Controller()
class PoisonController {
  @EventPattern<MessageType>('step.execute.v1', TASKER_TRANSPORT)
  execute(@Payload() envelope: MessageEnvelope<'step.execute.v1'>): Promise<void> {
    const { stepName } = envelope.payload;
    const n = (deliveries.get(stepName) ?? 0) + 1;
    deliveries.set(stepName, n);
    if (stepName === 'poison') {
      return Promise.reject(new Error(`invalid input syntax for type uuid (delivery ${n})`));
    }
    return Promise.resolve();
  }
}

/** Counts the app's init hooks: connecting the transport must not run them again. */
@Injectable()
class BootCounter implements OnModuleInit, OnApplicationBootstrap {
  static inits = 0;
  static bootstraps = 0;
  onModuleInit(): void {
    BootCounter.inits += 1;
  }
  onApplicationBootstrap(): void {
    BootCounter.bootstraps += 1;
  }
}

/** The poison handler in an app, with the bus the transport consumes through. */
@Module({})
class PoisonModule {
  static on(bus: MessageBus): DynamicModule {
    return {
      module: PoisonModule,
      controllers: [PoisonController],
      providers: [ConsumedQueues, BootCounter, { provide: MessageBus, useValue: bus }],
    };
  }
}

interface DeadLetter {
  body: unknown;
  reason: string;
  deliveryCount: number;
}

/** A backend as the transport sees it, and a look into its dead-letter queue from outside. */
interface Backend {
  bus: MessageBus;
  deadLetters(queue: string): Promise<DeadLetter[]>;
  teardown(): Promise<void>;
}

async function pgmqBackend(): Promise<Backend> {
  const database = await createTestDatabase();
  const db = new Database({
    url: database.url,
    poolMax: 3,
    statementTimeoutMs: 30000,
    preparedStatements: true,
  });
  const bus = new PgmqMessageBus(db, {
    databaseUrl: database.url,
    events: {
      mode: 'Hybrid',
      pollIntervalMs: 20,
      fallbackPollIntervalMs: 200,
      fallbackPollMinAgeMs: 500,
    },
  });
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  return {
    bus,
    deadLetters: async (queue) => {
      const { rows } = await pool.query<{
        message: unknown;
        headers: { reason: string; deliveryCount: number };
      }>(
        `SELECT message, headers FROM pgmq.${pg.escapeIdentifier(`q_${deadLetterQueueName(queue)}`)}`,
      );
      return rows.map((r) => ({
        body: r.message,
        reason: r.headers.reason,
        deliveryCount: r.headers.deliveryCount,
      }));
    },
    teardown: async () => {
      await bus.close();
      await db.onApplicationShutdown();
      await pool.end();
      await database.drop();
    },
  };
}

async function rabbitmqBackend(): Promise<Backend> {
  const vhost = await createTestVhost();
  const bus = new RabbitMqMessageBus({
    url: vhost.url,
    reconnectInitialMs: 100,
    reconnectMaxMs: 1000,
    operationTimeoutMs: 10000,
  });
  const connection = await amqp.connect(vhost.url);
  const channel = await connection.createChannel();
  return {
    bus,
    deadLetters: async (queue) => {
      const found: DeadLetter[] = [];
      for (;;) {
        const raw = await channel.get(deadLetterQueueName(queue), { noAck: false });
        if (raw === false) break;
        const headers = raw.properties.headers as Record<string, unknown>;
        found.push({
          body: JSON.parse(raw.content.toString('utf8')) as unknown,
          reason: headers['x-tasker-dead-letter-reason'] as string,
          deliveryCount: Number(headers['x-tasker-deliveries']),
        });
      }
      // Unacked, so they stay in the queue; closing the channel gives them back.
      await channel.recover();
      return found;
    },
    teardown: async () => {
      await bus.close();
      await connection.close();
      await vhost.drop();
    },
  };
}

describe.each([
  ['pgmq', pgmqBackend],
  ['rabbitmq', rabbitmqBackend],
])('TaskerTransport delivery cap on %s', (_name, start) => {
  const MAX_DELIVERIES = 2;
  let backend: Backend;
  let app: INestApplication;
  const deadLettered: string[] = [];
  const queue = `worker_cap_${randomUUID().replaceAll('-', '').slice(0, 12)}_queue`;

  beforeAll(async () => {
    backend = await start();
    // Wired as the apps wire it: an initialised HTTP app, then the transport (and its
    // exception filter, which must still reach the handlers) connected to it.
    BootCounter.inits = 0;
    BootCounter.bootstraps = 0;
    app = await NestFactory.create(PoisonModule.on(backend.bus), { logger: false });
    await app.init();
    await startTaskerTransport(app, {
      queues: [queue],
      prefetch: 4,
      visibilityTimeoutMs: 30000,
      shutdownGraceMs: 1000,
      maxDeliveries: MAX_DELIVERIES,
      onDeadLetter: (q) => deadLettered.push(q),
    });
  });

  afterAll(async () => {
    await app?.close();
    await backend?.teardown();
  });

  it('runs the init hooks of the app once, not again when the transport starts', () => {
    expect([BootCounter.inits, BootCounter.bootstraps]).toEqual([1, 1]);
  });

  it('dead-letters a message that fails on every delivery, with the reason and the last error', async () => {
    const uuid = randomUUID();
    const poison = createEnvelope(
      'step.execute.v1',
      { taskUuid: uuid, stepUuid: uuid, stepName: 'poison', namespace: 'cap' },
      { correlationId: uuid },
    );
    const fine = createEnvelope(
      'step.execute.v1',
      { taskUuid: uuid, stepUuid: uuid, stepName: 'fine', namespace: 'cap' },
      { correlationId: uuid },
    );
    await backend.bus.sendBatch(queue, [poison, fine]);
    const dead = await pollUntil(
      () => backend.deadLetters(queue),
      (found) => found.length > 0,
      { description: 'the dead letter', timeoutMs: 20000 },
    );
    expect(dead).toEqual([
      {
        body: poison,
        reason:
          'failed on each of its 2 deliveries (TASKER_MAX_DELIVERIES); last error: ' +
          'invalid input syntax for type uuid (delivery 2)',
        deliveryCount: MAX_DELIVERIES,
      },
    ]);
    expect(deliveries.get('poison')).toBe(MAX_DELIVERIES);
    expect(deliveries.get('fine')).toBe(1);
    expect(deadLettered).toEqual([queue]);
    await pollUntil(
      () => backend.bus.depth(queue),
      (n) => n === 0,
      { description: `${queue} to be empty` },
    );
    deliveries.clear();
  });
});
