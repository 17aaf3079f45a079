export * from './config-source.js';
export * from './config-reader.js';
export * from './tasker-env.js';
export * from './database.config.js';
export * from './messaging.config.js';
export * from './orchestration.config.js';
export * from './worker.config.js';
export * from './logging.config.js';
