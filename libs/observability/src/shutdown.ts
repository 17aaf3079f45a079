import type { INestApplicationContext } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import { errorMessage } from '#core';

/**
 * SIGTERM/SIGINT close the app (consumers drain their in-flight messages, then connections
 * close) and exit 0, or 1 if closing failed. Nest's own shutdown hooks would re-raise the
 * signal instead, which orchestrators report as a crash.
 */
export function closeOnSignals(app: INestApplicationContext, name: string): void {
  const logger = new Logger(name);
  let closing = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      if (closing) return;
      closing = true;
      logger.log(`${signal}: shutting down`);
      app.close().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error(`shutdown failed: ${errorMessage(err)}`);
          process.exit(1);
        },
      );
    });
  }
}
