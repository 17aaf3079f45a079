import { Module } from '@nestjs/common';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import { messagingConfig } from '#config';
import { MessageBus } from '#core';
import { Database, DatabaseModule } from '#persistence';
import { PgmqMessageBus } from './pgmq/pgmq.message-bus.js';

/**
 * Provides the MessageBus port with the adapter named by TASKER_MESSAGING_BACKEND. The config
 * namespace already rejected unknown values at boot, so there is no fallback here.
 */
@Module({
  imports: [ConfigModule.forFeature(messagingConfig), DatabaseModule],
  providers: [
    {
      provide: MessageBus,
      inject: [messagingConfig.KEY, Database],
      useFactory: (config: ConfigType<typeof messagingConfig>, database: Database): MessageBus => {
        switch (config.backend) {
          case 'pgmq':
            return new PgmqMessageBus(database);
        }
      },
    },
  ],
  exports: [MessageBus],
})
export class MessagingModule {}
