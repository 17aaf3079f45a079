// The benchmark's worker process: the worker app serving the bench handlers (the production
// entry point, apps/worker/src/main.ts, serves the examples).
import { runWorker } from '../../../apps/worker/src/bootstrap/run-worker.js';
import { BENCH_HANDLERS } from './bench.handlers.js';

runWorker(BENCH_HANDLERS);
