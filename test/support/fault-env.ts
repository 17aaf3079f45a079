import type { MessagingBackend } from '#config';

/**
 * The environment of an app process in the real-process fault tests: Hybrid mode, and short
 * visibility timeouts, re-announce age, sweep interval and reconnect cap, so that recovery
 * from a killed process or an outage shows within a test's time.
 */
export function faultTestEnv(options: {
  databaseUrl: string;
  backend: MessagingBackend;
  rabbitmqUrl?: string | undefined;
  templatePath: string;
}): Record<string, string> {
  return {
    DATABASE_URL: options.databaseUrl,
    TASKER_ENV: 'test',
    TASKER_MESSAGING_BACKEND: options.backend,
    ...(options.rabbitmqUrl ? { RABBITMQ_URL: options.rabbitmqUrl } : {}),
    TASKER_EVENT_MODE: 'Hybrid',
    TASKER_TEMPLATE_PATH: options.templatePath,
    TASKER_STEP_VISIBILITY_TIMEOUT_MS: '2000',
    TASKER_RESULT_VISIBILITY_TIMEOUT_MS: '2000',
    TASKER_REANNOUNCE_AFTER_MS: '2000',
    TASKER_SWEEP_INTERVAL_MS: '250',
    TASKER_RABBITMQ_RECONNECT_MAX_MS: '1000',
  };
}
