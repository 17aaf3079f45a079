import { Injectable } from '@nestjs/common';
import { MessageBus } from '#core';
import type { ComponentHealth } from '#observability';
import { announcementBacklog, Database } from '#persistence';
import { StepAnnouncer } from '../services/step-announcer.service.js';

/**
 * Step messages owed after their commit (brokers outside the database): how many this replica
 * keeps retrying and, in /health/detailed, every replica's count and the oldest one's age.
 * Always up: the broker's own check says when it is away; this says what is waiting for it.
 */
@Injectable()
export class AnnouncementsHealth implements ComponentHealth {
  readonly name = 'announcements';

  constructor(
    private readonly bus: MessageBus,
    private readonly announcer: StepAnnouncer,
    private readonly database: Database,
  ) {}

  async check(detailed: boolean): Promise<Record<string, unknown>> {
    if (this.bus.queuesInDatabase) return { sentWithState: true };
    const here = { owedHere: this.announcer.owedHere };
    if (!detailed) return here;
    const { owed, oldestAgeSeconds } = await announcementBacklog(this.database.pool);
    return { ...here, owed, oldestAgeSeconds };
  }
}
