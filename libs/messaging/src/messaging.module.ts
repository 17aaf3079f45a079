import { Module, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import { databaseConfig, messagingConfig } from '#config';
import { MessageBus } from '#core';
import { Database, DatabaseModule } from '#persistence';
import { PgmqMessageBus } from './pgmq/pgmq.message-bus.js';
import { RabbitMqMessageBus } from './rabbitmq/rabbitmq.message-bus.js';
import { QueueDepths } from './queue-depths.js';
import { ConsumedQueues } from './transport/consumed-queues.js';

/** Builds the adapter TASKER_MESSAGING_BACKEND names; the config already rejected others. */
export function createMessageBus(
  config: ConfigType<typeof messagingConfig>,
  database: Database,
  databaseSettings: ConfigType<typeof databaseConfig>,
): MessageBus {
  switch (config.backend) {
    case 'pgmq':
      return new PgmqMessageBus(database, {
        databaseUrl: databaseSettings.url,
        events: config.events,
      });
    case 'rabbitmq':
      if (!config.rabbitmq) throw new Error('rabbitmq backend without RabbitMQ settings');
      return new RabbitMqMessageBus(config.rabbitmq);
  }
}

/**
 * Provides the MessageBus port with the adapter named by TASKER_MESSAGING_BACKEND, and closes
 * it at shutdown, after the consumers have drained (they stop in beforeApplicationShutdown
 * and when the transport closes).
 */
@Module({
  imports: [
    ConfigModule.forFeature(messagingConfig),
    ConfigModule.forFeature(databaseConfig),
    DatabaseModule,
  ],
  providers: [
    {
      provide: MessageBus,
      inject: [messagingConfig.KEY, Database, databaseConfig.KEY],
      useFactory: createMessageBus,
    },
    ConsumedQueues,
    QueueDepths,
  ],
  exports: [MessageBus, ConsumedQueues, QueueDepths],
})
export class MessagingModule implements OnApplicationShutdown {
  constructor(private readonly bus: MessageBus) {}

  async onApplicationShutdown(): Promise<void> {
    await this.bus.close();
  }
}
