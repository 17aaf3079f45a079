import { Injectable } from '@nestjs/common';
import {
  ConflictError,
  parseScheduleExpression,
  type ScheduleExpression,
  type SchedulePage,
  type ScheduleView,
  TemplateNotFoundError,
  upcomingFires,
  ValidationError,
} from '#core';
import {
  Database,
  type ScheduleFields,
  type ScheduleListFilter,
  type ScheduleRecord,
  ScheduleRepository,
  advanceSchedule,
  recordScheduleRuns,
} from '#persistence';
import type { CreateScheduleDto, UpdateScheduleDto } from '../http/dto/schedule.dto.js';
import { ScheduleFiring } from './schedule-firing.service.js';
import { TaskSubmissionService } from './task-submission.service.js';

const DEFAULT_MISFIRE_GRACE_SECONDS = 300;
const UPCOMING_FIRES_SHOWN = 5;

/** Fields that decide when a schedule fires: changing one recomputes the next fire. */
const TIMING_FIELDS = ['kind', 'expression', 'timezone', 'enabled'] as const;

/** The schedules resource: validated writes, views with upcoming fires, run-now and snooze. */
@Injectable()
export class ScheduleService {
  constructor(
    private readonly database: Database,
    private readonly schedules: ScheduleRepository,
    private readonly submission: TaskSubmissionService,
    private readonly firing: ScheduleFiring,
  ) {}

  async create(dto: CreateScheduleDto): Promise<ScheduleView> {
    const now = new Date();
    const fields: ScheduleFields = {
      namespace: dto.namespace,
      name: dto.name,
      version: dto.version ?? null,
      context: dto.context,
      kind: dto.kind,
      expression: dto.expression.trim(),
      timezone: dto.timezone,
      misfireGraceSeconds: dto.misfireGraceSeconds ?? DEFAULT_MISFIRE_GRACE_SECONDS,
      overlap: dto.overlap ?? 'allow',
      enabled: dto.enabled ?? true,
      description: dto.description ?? null,
      nextFireAt: null,
      snoozedUntil: null,
    };
    const expression = await this.validate(fields);
    fields.nextFireAt = expression.nextAfter(now);
    if (fields.nextFireAt === null) throw neverFires();
    const created = await this.schedules.insert(fields);
    this.firing.wake();
    return this.view(created);
  }

  async get(scheduleUuid: string): Promise<ScheduleView> {
    return this.view(await this.schedules.get(this.database.pool, scheduleUuid));
  }

  async list(filter: ScheduleListFilter): Promise<SchedulePage> {
    const page = await this.schedules.list(filter);
    return { items: page.items.map((s) => this.view(s)), nextCursor: page.nextCursor };
  }

  /** Changes any fields; pausing keeps the row, resuming fires from now on (no catch-up). */
  async update(scheduleUuid: string, dto: UpdateScheduleDto): Promise<ScheduleView> {
    const updated = await this.database.transaction(async (tx) => {
      const current = await this.schedules.get(tx, scheduleUuid, true);
      const fields: ScheduleFields = {
        ...current,
        ...definedOnly({
          ...dto,
          expression: dto.expression?.trim(),
          version: dto.version,
        }),
      };
      const expression = await this.validate(fields);
      const timingChanged = TIMING_FIELDS.some((f) => fields[f] !== current[f]);
      if (timingChanged) {
        fields.nextFireAt = this.firstFireFrom(expression, fields.snoozedUntil);
        if (fields.nextFireAt === null && fields.enabled) throw neverFires();
      }
      return this.schedules.update(tx, scheduleUuid, fields);
    });
    this.firing.wake();
    return this.view(updated);
  }

  async delete(scheduleUuid: string): Promise<void> {
    await this.schedules.delete(scheduleUuid);
  }

  /**
   * Skips every fire up to `until`, or only the next fire without it. Skipped fires are not
   * recorded as runs: the schedule shows `snoozedUntil` instead.
   */
  async snooze(scheduleUuid: string, until: Date | undefined): Promise<ScheduleView> {
    const updated = await this.database.transaction(async (tx) => {
      const current = await this.schedules.get(tx, scheduleUuid, true);
      const expression = parseScheduleExpression(current);
      const skipTo = until ?? current.nextFireAt;
      if (!skipTo) {
        throw new ConflictError(`schedule ${scheduleUuid} has no upcoming fire to skip`);
      }
      return this.schedules.update(tx, scheduleUuid, {
        ...current,
        snoozedUntil: skipTo,
        nextFireAt: this.firstFireFrom(expression, skipTo),
      });
    });
    this.firing.wake();
    return this.view(updated);
  }

  /**
   * Creates the schedule's task now, whatever its timing, pause or overlap policy (an operator
   * asked for it); recorded as a manual run and counted as the schedule's latest task.
   */
  async runNow(scheduleUuid: string): Promise<{ scheduleUuid: string; taskUuid: string }> {
    const result = await this.database.transaction(async (tx) => {
      const schedule = await this.schedules.get(tx, scheduleUuid, true);
      const { created, run } = await this.firing.createTask(tx, schedule, new Date(), 'manual');
      if (!created) throw new ValidationError(`schedule ${scheduleUuid} cannot run: ${run.detail}`);
      await recordScheduleRuns(tx, scheduleUuid, [run]);
      await advanceSchedule(tx, scheduleUuid, {
        nextFireAt: schedule.nextFireAt,
        lastTaskUuid: created.taskUuid,
      });
      return { schedule, runs: [run], created };
    });
    await this.firing.afterCommit(result);
    return { scheduleUuid, taskUuid: result.created.taskUuid };
  }

  /** Checks the expression, the template and the context; a problem is a 400. */
  private async validate(fields: ScheduleFields): Promise<ScheduleExpression> {
    const expression = parseScheduleExpression(fields);
    try {
      await this.submission.prepare({
        namespace: fields.namespace,
        name: fields.name,
        version: fields.version ?? undefined,
        context: fields.context,
        idempotencyKey: 'schedule-validation',
      });
    } catch (err) {
      if (err instanceof TemplateNotFoundError) {
        throw new ValidationError(`unknown template: ${err.message}`, err.details);
      }
      throw err;
    }
    return expression;
  }

  private firstFireFrom(expression: ScheduleExpression, snoozedUntil: Date | null): Date | null {
    const now = new Date();
    return expression.nextAfter(snoozedUntil && snoozedUntil > now ? snoozedUntil : now);
  }

  private view(s: ScheduleRecord): ScheduleView {
    const upcoming =
      s.enabled && s.nextFireAt
        ? [
            s.nextFireAt,
            ...upcomingFires(parseScheduleExpression(s), s.nextFireAt, UPCOMING_FIRES_SHOWN - 1),
          ]
        : [];
    return {
      scheduleUuid: s.scheduleUuid,
      namespace: s.namespace,
      name: s.name,
      version: s.version,
      context: s.context,
      kind: s.kind,
      expression: s.expression,
      timezone: s.timezone,
      misfireGraceSeconds: s.misfireGraceSeconds,
      overlap: s.overlap,
      enabled: s.enabled,
      description: s.description,
      nextFireAt: s.nextFireAt?.toISOString() ?? null,
      snoozedUntil: s.snoozedUntil?.toISOString() ?? null,
      lastFireAt: s.lastFireAt?.toISOString() ?? null,
      lastTaskUuid: s.lastTaskUuid,
      upcomingFires: upcoming.map((d) => d.toISOString()),
      createdAt: s.createdAt.toISOString(),
      updatedAt: s.updatedAt.toISOString(),
    };
  }
}

function neverFires(): ValidationError {
  return new ValidationError('expression has no fire after now: the schedule would never run', {
    field: 'expression',
  });
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
