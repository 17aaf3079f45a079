import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { workerQueueName } from '#contracts';
import { messagingConfig, workerConfig } from '#config';
import { loadTemplatesFromDirectory, MessageBus } from '#core';
import { QueueConsumer } from '#messaging';
import { HandlerRegistry } from './handler-registry.js';
import { STEP_VISIBILITY_TIMEOUT_MS, StepExecutor } from './step-executor.service.js';

/**
 * At boot: load the templates, keep the namespaces this worker serves, fail unless every step
 * there has a handler, then consume `worker_<namespace>_queue` for each. Drains on shutdown.
 */
@Injectable()
export class StepMessageConsumer
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown
{
  private readonly logger = new Logger(StepMessageConsumer.name);
  private consumer: QueueConsumer | undefined;
  private queues: string[] = [];

  constructor(
    @Inject(workerConfig.KEY) private readonly config: ConfigType<typeof workerConfig>,
    @Inject(messagingConfig.KEY) private readonly messaging: ConfigType<typeof messagingConfig>,
    private readonly bus: MessageBus,
    private readonly registry: HandlerRegistry,
    private readonly executor: StepExecutor,
  ) {}

  async onModuleInit(): Promise<void> {
    const all = await loadTemplatesFromDirectory(this.config.templatePath);
    const wanted = this.config.namespaces;
    const templates = wanted.length === 0 ? all : all.filter((t) => wanted.includes(t.namespace));
    const unknown = wanted.filter((ns) => !all.some((t) => t.namespace === ns));
    if (unknown.length > 0) {
      throw new Error(
        `TASKER_WORKER_NAMESPACES names namespaces with no template in ${this.config.templatePath}: ${unknown.join(', ')}`,
      );
    }
    this.registry.assertCovers(templates);
    this.queues = [...new Set(templates.map((t) => t.namespace))].map(workerQueueName);
    for (const queue of this.queues) await this.bus.ensureQueue(queue);
    this.logger.log(
      `serving ${this.queues.join(', ')} with concurrency ${this.config.concurrency}`,
    );
  }

  onApplicationBootstrap(): void {
    this.consumer = new QueueConsumer(this.bus, (m) => this.executor.handle(m), {
      queues: this.queues,
      batchSize: this.messaging.batchSize,
      pollIntervalMs: this.messaging.pollIntervalMs,
      visibilityTimeoutMs: STEP_VISIBILITY_TIMEOUT_MS,
      concurrency: this.config.concurrency,
    });
    this.consumer.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }
}
