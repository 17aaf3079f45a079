import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { workerQueueName } from '#contracts';
import { workerConfig } from '#config';
import { loadTemplatesFromDirectory } from '#core';
import { HandlerRegistry } from './handler-registry.js';

/**
 * At boot: load the templates, keep the namespaces this worker serves, and fail unless every
 * step there has a handler. The transport then consumes `worker_<namespace>_queue` of each.
 */
@Injectable()
export class WorkerQueues implements OnModuleInit {
  private readonly logger = new Logger(WorkerQueues.name);
  private names: string[] = [];

  constructor(
    @Inject(workerConfig.KEY) private readonly config: ConfigType<typeof workerConfig>,
    private readonly registry: HandlerRegistry,
  ) {}

  get queues(): readonly string[] {
    return this.names;
  }

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
    this.names = [...new Set(templates.map((t) => t.namespace))].map(workerQueueName);
    this.logger.log(`serving ${this.names.join(', ')} with concurrency ${this.config.concurrency}`);
  }
}
