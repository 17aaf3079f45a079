export * from './task-template.js';
export * from './dag.js';
export * from './template.parser.js';
export * from './context-validator.js';
export * from './template-file.loader.js';
export * from './staleness-check.js';
export * from './workflow-graph.js';
export * from './concurrency.js';
