import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { workerQueueName } from '#contracts';
import { orchestrationConfig } from '#config';
import { loadTemplatesFromDirectory, MessageBus, publishesDurableEvents } from '#core';
import { QueueDepths } from '#messaging';
import { TemplateRepository } from '#persistence';

/**
 * At boot: load the templates from TASKER_TEMPLATE_PATH (an invalid file, or a step timeout
 * longer than a staleness threshold, stops the boot with its problems listed), register them,
 * and make sure every queue they need exists (their workers' and, for templates whose steps
 * publish durable domain events, their namespace's event queue).
 */
@Injectable()
export class TemplateRegistrationService implements OnModuleInit {
  private readonly logger = new Logger(TemplateRegistrationService.name);

  constructor(
    @Inject(orchestrationConfig.KEY)
    private readonly config: ConfigType<typeof orchestrationConfig>,
    private readonly templates: TemplateRepository,
    private readonly bus: MessageBus,
    private readonly depths: QueueDepths,
  ) {}

  async onModuleInit(): Promise<void> {
    const templates = await loadTemplatesFromDirectory(this.config.templatePath, {
      stalenessDefaults: this.config.staleness,
      environment: this.config.env,
      onWarning: (source, warning) => this.logger.warn(`${source}: ${warning}`),
    });
    await this.templates.register(templates);
    const namespaces = [...new Set(templates.map((t) => t.namespace))];
    // The results queue is ensured by the transport that consumes it.
    const workerQueues = namespaces.map(workerQueueName);
    for (const queue of workerQueues) await this.bus.ensureQueue(queue);
    // Where their steps' durable domain events go (PGMQ: `<namespace>_domain_events`).
    const publishing = new Set(templates.filter(publishesDurableEvents).map((t) => t.namespace));
    for (const namespace of publishing) await this.bus.ensureDomainEvents(namespace);
    // Backpressure reads their depths.
    this.depths.watch(workerQueues);
    this.logger.log(
      `registered ${templates.length} templates in ${namespaces.length} namespaces from ${this.config.templatePath}`,
    );
  }
}
