import { Logger } from '@nestjs/common';
import pg from 'pg';
import { messageReadyChannel } from '#contracts';

export type ListenerState = 'idle' | 'connecting' | 'listening' | 'error';

/** What a send or nack announces on a queue's channel; small by construction (never the body). */
export interface MessageReadyNotice {
  queue: string;
  count: number;
  /**
   * In how many ms the messages become visible, as the database set their visibility (a
   * delayed send or nack); null when at once. Relative, so no process's clock is involved.
   */
  visibleInMs: number | null;
}

export interface ChannelWatcher {
  /** Messages arrived on a watched queue, or become visible in `inMs` (null: now). */
  onReady(inMs: number | null): void;
  /** The listener (re)connected: notifications sent meanwhile are lost, read everything. */
  onConnected(): void;
}

/** How much of a malformed payload a log line shows (payloads go up to 8,000 bytes). */
const LOGGED_PAYLOAD_CHARS = 200;

const RECONNECT_INITIAL_MS = 100;
const RECONNECT_MAX_MS = 5000;
/** A connection attempt that gets no answer counts as failed after this long. */
const CONNECT_TIMEOUT_MS = 5000;
/** A connection that died without telling (half-open TCP) is found by a query this often. */
const LIVENESS_CHECK_MS = 30000;

/** The channel a queue's senders notify: per queue, so per namespace for worker queues. */
export { messageReadyChannel };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The notice in `payload` when it is exactly what a Tasker sender writes for `channel`;
 * undefined otherwise. Any database role can NOTIFY, so nothing else is assumed.
 */
export function parseMessageReadyNotice(
  channel: string,
  payload: string | undefined,
): MessageReadyNotice | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload ?? '');
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const { queue, count, visibleInMs } = value;
  const wellFormed =
    typeof queue === 'string' &&
    messageReadyChannel(queue) === channel &&
    Number.isSafeInteger(count) &&
    (count as number) > 0 &&
    (visibleInMs === null ||
      (typeof visibleInMs === 'number' && Number.isFinite(visibleInMs) && visibleInMs >= 0));
  return wellFormed ? { queue, count: count as number, visibleInMs } : undefined;
}

/**
 * One dedicated LISTEN connection per process (a plain `pg` client): reconnects forever with
 * capped exponential backoff, re-LISTENs every channel, tells watchers to catch up after every
 * reconnect, checks the connection with a query every 30 s (a half-open socket looks idle),
 * and on close stops every retry and closes whatever connection exists or is being opened.
 * A payload that is not a well-formed notice for its channel is counted, logged and taken as
 * "messages arrived": it can neither throw in the socket's handler nor mark the listener down.
 */
export class PgNotifyListener {
  private readonly logger = new Logger(PgNotifyListener.name);
  private readonly watchers = new Map<string, Set<ChannelWatcher>>();
  /** Channels LISTENed to on every connection, with the LISTEN of the current one. */
  private readonly listens = new Map<string, Promise<unknown>>();
  private client: pg.Client | undefined;
  /** The first connection, which watch() waits for. */
  private connecting: Promise<void> | undefined;
  /** A reconnect under way. */
  private reopening: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private livenessTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private currentState: ListenerState = 'idle';
  private reconnects = 0;
  private malformed = 0;

  constructor(private readonly databaseUrl: string) {}

  get state(): ListenerState {
    return this.currentState;
  }

  /** Times the connection was lost and re-established (or is being). */
  get reconnectCount(): number {
    return this.reconnects;
  }

  /** Notifications whose payload was not a well-formed notice for their channel. */
  get malformedCount(): number {
    return this.malformed;
  }

  /** Resolves once every queue's channel is LISTENed to: no later notice can be missed. */
  async watch(queues: readonly string[], watcher: ChannelWatcher): Promise<void> {
    await this.connect();
    for (const queue of queues) {
      const channel = messageReadyChannel(queue);
      let set = this.watchers.get(channel);
      if (!set) {
        set = new Set();
        this.watchers.set(channel, set);
      }
      set.add(watcher);
      let listen = this.listens.get(channel);
      if (!listen) {
        // While reconnecting there is no client: the reconnect LISTENs to every channel.
        listen = this.client ? this.listen(this.client, channel) : Promise.resolve();
        this.listens.set(channel, listen);
      }
      await listen;
    }
  }

  unwatch(watcher: ChannelWatcher): void {
    for (const set of this.watchers.values()) set.delete(watcher);
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.livenessTimer);
    await this.connecting?.catch(() => undefined);
    await this.reopening?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    if (client) {
      await client.query('UNLISTEN *').catch(() => undefined);
      await client.end().catch(() => undefined);
    }
    this.currentState = 'idle';
  }

  /** The first connection: its failure is the caller's (boot fails, readiness says why). */
  private connect(): Promise<void> {
    this.connecting ??= this.open().catch((err: unknown) => {
      this.connecting = undefined;
      this.currentState = 'error';
      throw err;
    });
    return this.connecting;
  }

  /** Opens a connection and LISTENs to every channel; a close meanwhile ends it at once. */
  private async open(): Promise<void> {
    this.currentState = 'connecting';
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: 'tasker-listen',
      keepAlive: true,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    client.on('notification', ({ channel, payload }) => this.notified(channel, payload));
    try {
      await client.connect();
      for (const channel of this.listens.keys()) {
        this.listens.set(channel, this.listen(client, channel));
      }
      await Promise.all(this.listens.values());
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closing) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.currentState = 'listening';
    this.livenessTimer = setInterval(() => {
      client.query('SELECT 1').catch((err: Error) => this.lost(client, err));
    }, LIVENESS_CHECK_MS).unref();
  }

  private listen(client: pg.Client, channel: string): Promise<unknown> {
    return client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
  }

  private notified(channel: string, payload: string | undefined): void {
    const notice = parseMessageReadyNotice(channel, payload);
    if (!notice) {
      this.malformed += 1;
      this.logger.warn(
        `malformed notification on ${channel}, reading the queue: ${JSON.stringify(payload?.slice(0, LOGGED_PAYLOAD_CHARS) ?? null)}`,
      );
    }
    for (const watcher of this.watchers.get(channel) ?? []) {
      watcher.onReady(notice?.visibleInMs ?? null);
    }
  }

  /** The current connection failed or ended: drop it and reconnect (once per connection). */
  private lost(client: pg.Client, err?: Error): void {
    if (this.closing || client !== this.client) return;
    this.client = undefined;
    clearInterval(this.livenessTimer);
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    this.reconnects += 1;
    this.currentState = 'connecting';
    this.logger.warn(`LISTEN connection lost${err ? ` (${err.message})` : ''}; reconnecting`);
    this.retry(0);
  }

  private retry(attempt: number): void {
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_INITIAL_MS * 2 ** attempt);
    this.retryTimer = setTimeout(() => {
      if (this.closing) return;
      this.reopening = this.open();
      this.reopening.then(
        () => {
          if (this.closing) return;
          this.logger.log('LISTEN connection re-established');
          for (const set of this.watchers.values())
            for (const watcher of set) watcher.onConnected();
        },
        () => {
          if (!this.closing) this.retry(attempt + 1);
        },
      );
    }, delay);
  }
}
