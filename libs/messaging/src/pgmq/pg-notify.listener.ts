import { Logger } from '@nestjs/common';
import pgListen, { type Subscriber } from 'pg-listen';
import { messageReadyChannel } from '#contracts';

export type ListenerState = 'idle' | 'connecting' | 'listening' | 'error';

/** What a send announces on a queue's channel; small by construction (never the body). */
export interface MessageReadyNotice {
  queue: string;
  count: number;
  /** Epoch ms when the messages become visible (a delayed send), null when at once. */
  visibleAt: number | null;
}

export interface ChannelWatcher {
  /** Messages arrived (or will become visible at `notice.visibleAt`). */
  onNotice(notice: MessageReadyNotice): void;
  /** The listener (re)connected: notifications sent meanwhile are lost, read everything. */
  onConnected(): void;
}

// pg-listen is CommonJS with an `exports.default`.
const createPostgresSubscriber = pgListen.default;

const RECONNECT_INITIAL_MS = 100;
const RECONNECT_MAX_MS = 5000;

/** The channel a queue's senders notify: per queue, so per namespace for worker queues. */
export { messageReadyChannel };

/**
 * One dedicated LISTEN connection (pg-listen) per process: reconnects forever with capped
 * exponential backoff (re-LISTENing every channel), tells watchers to catch up after every
 * (re)connect, UNLISTENs and closes on shutdown, and exposes its state to health checks.
 */
export class PgNotifyListener {
  private readonly logger = new Logger(PgNotifyListener.name);
  private readonly subscriber: Subscriber;
  private readonly watchers = new Map<string, Set<ChannelWatcher>>();
  private connecting: Promise<void> | undefined;
  private currentState: ListenerState = 'idle';
  private reconnects = 0;

  constructor(databaseUrl: string) {
    this.subscriber = createPostgresSubscriber(
      { connectionString: databaseUrl, application_name: 'tasker-listen' },
      {
        retryInterval: (attempt: number) =>
          Math.min(RECONNECT_MAX_MS, RECONNECT_INITIAL_MS * 2 ** attempt),
        retryLimit: Infinity,
        // 0: never give up reconnecting.
        retryTimeout: 0,
      },
    );
    this.subscriber.events.on('notification', ({ channel, payload }) => {
      for (const watcher of this.watchers.get(channel) ?? []) {
        watcher.onNotice(payload as MessageReadyNotice);
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

  async watch(queues: readonly string[], watcher: ChannelWatcher): Promise<void> {
    await this.connect();
    for (const queue of queues) {
      const channel = messageReadyChannel(queue);
      let set = this.watchers.get(channel);
      if (!set) {
        set = new Set();
        this.watchers.set(channel, set);
        await this.subscriber.listenTo(channel);
      }
      set.add(watcher);
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
