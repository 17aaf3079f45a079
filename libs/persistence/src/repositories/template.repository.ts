import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { TaskTemplate } from '#core';
import { publishesDurableEvents, TemplateNotFoundError, templateKey } from '#core';
import { Database } from '../database.js';
import type { TemplateVersionStamp } from '../sql/insert-task-graph.js';
import { NamedTaskEntity, TaskNamespaceEntity } from '../entities/index.js';
import { registerConcurrencyLimits } from '../sql/concurrency.js';

/** How long the templates' triggers are read from the cache before being read again. */
const TRIGGERS_CACHE_MS = 5000;

export interface RegisteredTemplate {
  namedTaskUuid: string;
  template: TaskTemplate;
}

/** A template as submissions use it: with the stamp insertTaskGraph checks it against. */
export interface CachedTemplate extends RegisteredTemplate {
  stamp: TemplateVersionStamp;
}

/** Every registered version of one template name, and when that name was last registered. */
interface CachedVersions {
  versions: { namedTaskUuid: string; template: TaskTemplate }[];
  registeredAt: string;
}

/** Templates registered in the database by orchestration at boot (ARCHITECTURE §4). */
@Injectable()
export class TemplateRepository {
  private readonly logger = new Logger(TemplateRepository.name);
  /** By `namespace/name`; an entry goes when a write finds it stale (see insertTaskGraph). */
  private readonly cache = new Map<string, Promise<CachedVersions>>();
  private triggers: { at: number; latest: TaskTemplate[] } | undefined;
  private readingTriggers: Promise<void> | undefined;

  constructor(
    private readonly database: Database,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /**
   * Upserts every template and its named steps in one transaction. A version whose content
   * changed is updated and logged: running tasks keep the steps they were created with. Its
   * concurrency limits are written too; one another template declares otherwise is refused.
   */
  async register(templates: readonly TaskTemplate[]): Promise<void> {
    await this.database.transaction(async (tx) => {
      for (const template of templates) {
        await registerConcurrencyLimits(tx, template);
        const { rows } = await tx.query<{ named_task_uuid: string; changed: boolean }>(
          `WITH ns AS (
             INSERT INTO tasker.task_namespaces (name) VALUES ($1)
             ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
             RETURNING task_namespace_uuid
           ),
           previous AS (
             SELECT nt.configuration FROM tasker.named_tasks nt, ns
              WHERE nt.task_namespace_uuid = ns.task_namespace_uuid
                AND nt.name = $2 AND nt.version = $3
           )
           INSERT INTO tasker.named_tasks
             (task_namespace_uuid, name, version, description, identity_strategy, configuration, source)
           SELECT ns.task_namespace_uuid, $2, $3, $4, $5, $6::jsonb, $7 FROM ns
           ON CONFLICT (task_namespace_uuid, name, version) DO UPDATE
             SET description = EXCLUDED.description,
                 identity_strategy = EXCLUDED.identity_strategy,
                 configuration = EXCLUDED.configuration,
                 source = EXCLUDED.source,
                 updated_at = now()
           RETURNING named_task_uuid,
                     coalesce((SELECT configuration FROM previous) <> $6::jsonb, false) AS changed`,
          [
            template.namespace,
            template.name,
            template.version,
            template.description ?? null,
            template.identityStrategy,
            JSON.stringify(template),
            template.source,
          ],
        );
        const row = rows[0];
        if (!row) throw new Error(`registering ${templateKey(template)} returned no row`);
        if (row.changed) {
          this.logger.warn(
            `template ${templateKey(template)} changed without a new version; new tasks use the new definition`,
          );
        }
        await tx.query(
          `INSERT INTO tasker.named_steps (named_task_uuid, name, handler, config, handler_method)
           SELECT $1, * FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::text[])
           ON CONFLICT (named_task_uuid, name)
           DO UPDATE SET handler = EXCLUDED.handler, config = EXCLUDED.config,
                         handler_method = EXCLUDED.handler_method`,
          [
            row.named_task_uuid,
            template.steps.map((s) => s.name),
            template.steps.map((s) => s.handler),
            template.steps.map((s) => JSON.stringify(s.config ?? {})),
            template.steps.map((s) =>
              s.handlerMethod === 'call' ? null : (s.handlerMethod ?? null),
            ),
          ],
        );
      }
    });
    this.cache.clear();
    this.triggers = undefined;
  }

  /** One template; without `version`, the highest registered version. */
  async find(namespace: string, name: string, version?: string): Promise<RegisteredTemplate> {
    const candidates = await this.query()
      .where('ns.name = :namespace AND nt.name = :name', { namespace, name })
      .getMany();
    const matching = version ? candidates.filter((c) => c.version === version) : candidates;
    const best = matching.sort((a, b) => compareVersions(b.version, a.version))[0];
    if (!best) throw new TemplateNotFoundError(namespace, name, version);
    return { namedTaskUuid: best.uuid, template: best.configuration as unknown as TaskTemplate };
  }

  /**
   * find for submissions: from a cache of every version of the name (one query on a miss),
   * with the stamp the insert checks, so a template registered again elsewhere is noticed by
   * the write itself; `forget` the name then and look again.
   */
  async findCached(namespace: string, name: string, version?: string): Promise<CachedTemplate> {
    for (;;) {
      const { entry, loadedNow } = this.cachedVersions(namespace, name);
      const { versions, registeredAt } = await entry;
      const best = versions
        .filter((v) => !version || v.template.version === version)
        .sort((a, b) => compareVersions(b.template.version, a.template.version))[0];
      if (best) return { ...best, stamp: { namedTaskUuid: best.namedTaskUuid, registeredAt } };
      // Not there: maybe registered since it was cached; look once more. A miss is not cached.
      this.forget(namespace, name);
      if (loadedNow) throw new TemplateNotFoundError(namespace, name, version);
    }
  }

  /**
   * Whether any registered version of the template publishes events through the broker, from
   * the same cache as findCached: a result of a template that publishes none costs no read.
   */
  async publishesDurableEvents(namespace: string, name: string): Promise<boolean> {
    const { versions } = await this.cachedVersions(namespace, name).entry;
    return versions.some((v) => publishesDurableEvents(v.template));
  }

  /** The cached versions of a name, loading them on a miss (a failed load is not cached). */
  private cachedVersions(
    namespace: string,
    name: string,
  ): { entry: Promise<CachedVersions>; loadedNow: boolean } {
    const key = `${namespace}/${name}`;
    const cached = this.cache.get(key);
    if (cached) return { entry: cached, loadedNow: false };
    const entry = this.loadVersions(namespace, name).catch((err: unknown) => {
      this.cache.delete(key);
      throw err;
    });
    this.cache.set(key, entry);
    return { entry, loadedNow: true };
  }

  forget(namespace: string, name: string): void {
    this.cache.delete(`${namespace}/${name}`);
  }

  private async loadVersions(namespace: string, name: string): Promise<CachedVersions> {
    const rows = await this.database.query<{
      named_task_uuid: string;
      configuration: TaskTemplate;
      registered_at: string;
    }>(
      `SELECT nt.named_task_uuid, nt.configuration,
              (max(nt.updated_at) OVER ())::text AS registered_at
         FROM tasker.named_tasks nt
         JOIN tasker.task_namespaces ns ON ns.task_namespace_uuid = nt.task_namespace_uuid
        WHERE ns.name = $1 AND nt.name = $2`,
      [namespace, name],
    );
    return {
      versions: rows.map((r) => ({ namedTaskUuid: r.named_task_uuid, template: r.configuration })),
      registeredAt: rows[0]?.registered_at ?? '',
    };
  }

  /**
   * The templates an event starts a task of: of each template name, its highest version, if
   * that lists the event in `triggers`. Read once; afterwards, once TRIGGERS_CACHE_MS old, read
   * again in the background (one read however many callers) while callers get the last answer:
   * this runs inside result batches' transactions, which must not wait for a read of every
   * template.
   */
  async triggeredBy(eventName: string): Promise<TaskTemplate[]> {
    if (!this.triggers) {
      await this.readTriggers();
    } else if (Date.now() - this.triggers.at > TRIGGERS_CACHE_MS) {
      void this.readTriggers().catch((err: unknown) =>
        this.logger.warn(`reading the templates' triggers failed: ${String(err)}`),
      );
    }
    return this.triggers!.latest.filter((t) => t.triggers?.includes(eventName));
  }

  private readTriggers(): Promise<void> {
    this.readingTriggers ??= this.list()
      .then((templates) => {
        const latest = new Map<string, TaskTemplate>();
        for (const template of templates) {
          const key = `${template.namespace}/${template.name}`;
          const seen = latest.get(key);
          if (!seen || compareVersions(template.version, seen.version) > 0) {
            latest.set(key, template);
          }
        }
        this.triggers = { at: Date.now(), latest: [...latest.values()] };
      })
      .finally(() => {
        this.readingTriggers = undefined;
      });
    return this.readingTriggers;
  }

  async list(): Promise<TaskTemplate[]> {
    const rows = await this.query().orderBy('ns.name').addOrderBy('nt.name').getMany();
    return rows
      .map((r) => r.configuration as unknown as TaskTemplate)
      .sort((a, b) => templateKey(a).localeCompare(templateKey(b)));
  }

  private query() {
    return this.dataSource
      .getRepository(NamedTaskEntity)
      .createQueryBuilder('nt')
      .innerJoin(TaskNamespaceEntity, 'ns', 'ns.uuid = nt.namespaceUuid');
  }
}

/** Compares `major.minor.patch` numerically (templates are validated to that shape). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}
