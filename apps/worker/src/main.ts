import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { closeOnSignals, installProcessLogger, setProcessLogFields } from '#observability';
import { errorMessage } from '#core';
import { ProcessIdentity } from '#persistence';
import { loggingConfig, printEffectiveConfig, workerConfig } from '#config';
import { createWorkerApp } from './bootstrap/create-worker-app.js';
import { EXAMPLE_HANDLERS } from './handlers/example.handlers.js';

/** `node main.js config` prints the effective configuration (secrets redacted) and exits. */
async function main(): Promise<void> {
  if (process.argv[2] === 'config') return printEffectiveConfig('worker');
  const logger = installProcessLogger(loggingConfig(), 'worker');
  const config = workerConfig();
  const app = await createWorkerApp(EXAMPLE_HANDLERS, { logger });
  setProcessLogFields({ workerId: app.get(ProcessIdentity).processorUuid });
  closeOnSignals(app, 'Worker');
  await app.listen(config.port);
  new Logger('Worker').log(`listening on port ${config.port} (${config.env})`);
}

main().catch((err: unknown) => {
  new Logger('Worker').error(errorMessage(err));
  process.exit(1);
});
