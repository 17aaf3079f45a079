import type { EventMode } from '#config';
import { Database } from '#persistence';
import { createTestDatabase } from '#testing';
import { PgmqMessageBus, type PgmqBusOptions } from '../pgmq/pgmq.message-bus.js';
import { type MessageBusContractBroker, queueDomainEventTap } from './message-bus.contract.js';

/**
 * A bus with its own small pool, ended when the bus closes: a closed bus is a process gone,
 * and a file never holds more connections than its buses still open.
 */
class OwnPoolPgmqBus extends PgmqMessageBus {
  private poolEnded = false;

  constructor(
    private readonly ownDatabase: Database,
    options: PgmqBusOptions,
  ) {
    super(ownDatabase, options);
  }

  override async close(): Promise<void> {
    await super.close();
    if (this.poolEnded) return;
    this.poolEnded = true;
    await this.ownDatabase.onApplicationShutdown();
  }
}

/** A fresh migrated database; every bus on it learns about messages the way `mode` says. */
export async function pgmqContractBroker(mode: EventMode): Promise<MessageBusContractBroker> {
  const testDatabase = await createTestDatabase();
  const bus = () =>
    new OwnPoolPgmqBus(
      new Database({
        url: testDatabase.url,
        poolMax: 3,
        statementTimeoutMs: 30000,
        preparedStatements: true,
      }),
      {
        databaseUrl: testDatabase.url,
        events: {
          mode,
          pollIntervalMs: 20,
          fallbackPollIntervalMs: 200,
          fallbackPollMinAgeMs: 500,
        },
      },
    );
  return {
    bus,
    teardown: () => testDatabase.drop(),
    tapDomainEvents: (namespace) => Promise.resolve(queueDomainEventTap(bus(), namespace)),
  };
}
