export * from './health.module.js';
export * from './database.health.js';
export * from './broker.health.js';
export * from './shutdown.js';
