import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { closeOnSignals, installProcessLogger, setProcessLogFields } from '#observability';
import { errorMessage } from '#core';
import { ProcessIdentity } from '#persistence';
import { configSource, loggingConfig, printEffectiveConfig, orchestrationConfig } from '#config';
import { createOrchestrationApp } from './bootstrap/create-orchestration-app.js';
import { prepareSchema } from './bootstrap/run-migrations.js';

/**
 * `node main.js` serves (migrating first unless DEPLOYMENT_MODE=no-migrate);
 * `node main.js migrate` or DEPLOYMENT_MODE=migrate-only migrates and exits;
 * `node main.js config` prints the effective configuration (secrets redacted) and exits.
 */
async function main(): Promise<void> {
  if (process.argv[2] === 'config') return printEffectiveConfig('orchestration');
  const logger = installProcessLogger(loggingConfig(), 'orchestration');
  const values = configSource();
  const config = orchestrationConfig();
  await prepareSchema(values);
  if (process.argv[2] === 'migrate' || config.deploymentMode === 'migrate-only') return;
  const app = await createOrchestrationApp({ logger });
  setProcessLogFields({ replicaId: app.get(ProcessIdentity).processorUuid });
  closeOnSignals(app, 'Orchestration');
  await app.listen(config.port);
  new Logger('Orchestration').log(`listening on port ${config.port} (${config.env})`);
}

main().catch((err: unknown) => {
  new Logger('Orchestration').error(errorMessage(err));
  process.exit(1);
});
