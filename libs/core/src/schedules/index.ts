export * from './schedule-expression.js';
export * from './fire-plan.js';
