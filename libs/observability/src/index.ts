export * from './health/health.module.js';
export * from './health/component-health.js';
export * from './shutdown.js';
export * from './metrics/metrics.module.js';
export * from './metrics/tasker.metrics.js';
export * from './logging/pino.logger.js';
export * from './http/public-route.js';
