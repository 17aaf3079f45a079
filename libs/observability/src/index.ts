export * from './health/health.module.js';
export * from './health/component-health.js';
export * from './shutdown.js';
