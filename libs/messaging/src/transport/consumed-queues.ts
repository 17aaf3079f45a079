import { Injectable } from '@nestjs/common';

/** The queues this process consumes (through the transport), for health details and metrics. */
@Injectable()
export class ConsumedQueues {
  private readonly names = new Set<string>();

  add(queues: readonly string[]): void {
    for (const queue of queues) this.names.add(queue);
  }

  list(): string[] {
    return [...this.names].sort();
  }
}
