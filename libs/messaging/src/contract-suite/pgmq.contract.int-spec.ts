import { EVENT_MODES } from '#config';
import { Database } from '#persistence';
import { createTestDatabase } from '#testing';
import { PgmqMessageBus } from '../pgmq/pgmq.message-bus.js';
import { describeMessageBusContract } from './message-bus.contract.js';

// The contract holds whichever way a replica learns about messages.
for (const mode of EVENT_MODES) {
  describeMessageBusContract(`pgmq (${mode})`, async () => {
    const testDatabase = await createTestDatabase();
    const databases: Database[] = [];
    return {
      // Each bus gets its own pool, as separate processes would.
      connect: () => {
        const database = new Database({
          url: testDatabase.url,
          poolMax: 4,
          statementTimeoutMs: 30000,
        });
        databases.push(database);
        return new PgmqMessageBus(database, {
          databaseUrl: testDatabase.url,
          events: {
            mode,
            pollIntervalMs: 20,
            fallbackPollIntervalMs: 200,
            fallbackPollMinAgeMs: 500,
          },
        });
      },
      teardown: async () => {
        await Promise.all(databases.map((d) => d.onApplicationShutdown()));
        await testDatabase.drop();
      },
    };
  });
}
