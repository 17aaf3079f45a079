import type { Logger } from '@nestjs/common';
import { errorMessage } from '#core';

/**
 * Runs `work` every `intervalMs`, one run at a time (the next is timed from the end of the
 * last); a failed run is logged and the next one still comes. `stop` waits for a run under way.
 */
export class PeriodicJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly what: string,
    private readonly intervalMs: number,
    private readonly work: () => Promise<unknown>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.running = this.work()
        .then(() => undefined)
        .catch((err: unknown) => this.logger.error(`${this.what} failed: ${errorMessage(err)}`))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule();
        });
    }, this.intervalMs);
  }
}
