import { Logger } from '@nestjs/common';
import pgListen, { type Subscriber } from 'pg-listen';

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

// pg-listen is CommonJS with an `exports.default`.
const createPostgresSubscriber = pgListen.default;

const RECONNECT_INITIAL_MS = 100;
const RECONNECT_MAX_MS = 5000;

/** The channel a queue's senders notify: per queue, so per namespace for worker queues. */
export function messageReadyChannel(queue: string): string {
  return `tasker_message_ready.${queue}`;
}

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
 * One dedicated LISTEN connection (pg-listen) per process: reconnects forever with capped
 * exponential backoff (re-LISTENing every channel), tells watchers to catch up after every
 * (re)connect, UNLISTENs and closes on shutdown, and exposes its state to health checks.
 * A payload that is not a well-formed notice for its channel is counted, logged and taken as
 * "messages arrived": it can neither throw in the socket's handler nor mark the listener down.
 */
export class PgNotifyListener {
  private readonly logger = new Logger(PgNotifyListener.name);
  private readonly subscriber: Subscriber;
  private readonly watchers = new Map<string, Set<ChannelWatcher>>();
  /** Per channel, its LISTEN: every watch awaits it, also one that finds the channel watched. */
  private readonly listens = new Map<string, Promise<unknown>>();
  private connecting: Promise<void> | undefined;
  private currentState: ListenerState = 'idle';
  private reconnects = 0;
  private malformed = 0;

  constructor(databaseUrl: string) {
    this.subscriber = createPostgresSubscriber(
      { connectionString: databaseUrl, application_name: 'tasker-listen' },
      {
        retryInterval: (attempt: number) =>
          Math.min(RECONNECT_MAX_MS, RECONNECT_INITIAL_MS * 2 ** attempt),
        retryLimit: Infinity,
        // 0: never give up reconnecting.
        retryTimeout: 0,
        // Raw text: pg-listen's JSON.parse would report a bad payload as a connection error.
        parse: (payload: string) => payload,
      },
    );
    this.subscriber.events.on('notification', ({ channel, payload }) => {
      const text = payload as string | undefined;
      const notice = parseMessageReadyNotice(channel, text);
      if (!notice) {
        this.malformed += 1;
        this.logger.warn(
          `malformed notification on ${channel}, reading the queue: ${JSON.stringify(text?.slice(0, LOGGED_PAYLOAD_CHARS) ?? null)}`,
        );
      }
      for (const watcher of this.watchers.get(channel) ?? []) {
        watcher.onReady(notice?.visibleInMs ?? null);
      }
    });
    this.subscriber.events.on('reconnect', (attempt) => {
      if (attempt === 1) {
        this.reconnects += 1;
        this.logger.warn('LISTEN connection lost; reconnecting');
      }
      this.currentState = 'connecting';
    });
    this.subscriber.events.on('connected', () => {
      this.currentState = 'listening';
      for (const set of this.watchers.values()) for (const watcher of set) watcher.onConnected();
    });
    this.subscriber.events.on('error', (err) => {
      this.currentState = 'error';
      this.logger.error(`LISTEN connection: ${err.message}`);
    });
  }

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
        const started = Promise.resolve(this.subscriber.listenTo(channel));
        started.catch(() => this.listens.delete(channel));
        this.listens.set(channel, started);
        listen = started;
      }
      await listen;
    }
  }

  unwatch(watcher: ChannelWatcher): void {
    for (const set of this.watchers.values()) set.delete(watcher);
  }

  async close(): Promise<void> {
    if (this.currentState === 'idle') return;
    await this.subscriber.unlistenAll().catch(() => undefined);
    await this.subscriber.close().catch(() => undefined);
    this.currentState = 'idle';
  }

  private connect(): Promise<void> {
    this.connecting ??= (async () => {
      this.currentState = 'connecting';
      try {
        await this.subscriber.connect();
      } catch (err) {
        this.connecting = undefined;
        this.currentState = 'error';
        throw err;
      }
    })();
    return this.connecting;
  }
}
