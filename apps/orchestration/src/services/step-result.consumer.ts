import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ORCHESTRATION_STEP_RESULTS_QUEUE } from '#contracts';
import { messagingConfig } from '#config';
import { MessageBus } from '#core';
import { QueueConsumer } from '#messaging';
import { StepResultProcessor } from './step-result.processor.js';

/** Reads orchestration_step_results and feeds the processor; drains on shutdown. */
@Injectable()
export class StepResultConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer: QueueConsumer | undefined;

  constructor(
    @Inject(messagingConfig.KEY) private readonly config: ConfigType<typeof messagingConfig>,
    private readonly bus: MessageBus,
    private readonly processor: StepResultProcessor,
  ) {}

  onApplicationBootstrap(): void {
    this.consumer = new QueueConsumer(this.bus, (m) => this.processor.handle(m), {
      queues: [ORCHESTRATION_STEP_RESULTS_QUEUE],
      batchSize: this.config.batchSize,
      pollIntervalMs: this.config.pollIntervalMs,
      visibilityTimeoutMs: 30000,
      concurrency: this.config.batchSize,
    });
    this.consumer.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }
}
