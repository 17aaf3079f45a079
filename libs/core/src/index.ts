export * from './errors/tasker.error.js';
export * from './states/task-state.js';
export * from './states/step-state.js';
export * from './retry/backoff.js';
export * from './handlers/step-handler.js';
export * from './identity/identity-hash.js';
export * from './ports/message-bus.port.js';
export * from './templates/index.js';
