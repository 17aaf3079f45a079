import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loggingConfig, printEffectiveConfig, workerConfig } from '#config';
import type { StepHandlerDefinition } from '#core';
import { errorMessage } from '#core';
import { closeOnSignals, installProcessLogger, setProcessLogFields } from '#observability';
import { ProcessIdentity } from '#persistence';
import type { StepHandlerClass } from '../tasker-core/handlers.js';
import { createWorkerApp } from './create-worker-app.js';

/**
 * A worker process serving `handlers` (our definitions, and Tasker Core handler classes from
 * `tasker/tasker-core`): what `main.ts` runs with the example handlers, and what a
 * deployment's own entry point runs with its handlers (the benchmark's worker does so).
 * `node <entry> config` prints the effective configuration (secrets redacted) and exits.
 */
export function runWorker(handlers: readonly (StepHandlerDefinition | StepHandlerClass)[]): void {
  const start = async (): Promise<void> => {
    if (process.argv[2] === 'config') return printEffectiveConfig('worker');
    const logger = installProcessLogger(loggingConfig(), 'worker');
    const config = workerConfig();
    const app = await createWorkerApp(handlers, { logger });
    setProcessLogFields({ workerId: app.get(ProcessIdentity).processorUuid });
    closeOnSignals(app, 'Worker');
    await app.listen(config.port);
    new Logger('Worker').log(`listening on port ${config.port} (${config.env})`);
  };
  start().catch((err: unknown) => {
    new Logger('Worker').error(errorMessage(err));
    process.exit(1);
  });
}
