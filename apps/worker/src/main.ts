import { runWorker } from './bootstrap/run-worker.js';
import { EXAMPLE_HANDLERS } from './handlers/example.handlers.js';

runWorker(EXAMPLE_HANDLERS);
