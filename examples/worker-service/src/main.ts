// The worker process: serves this service's handlers for the templates in TASKER_TEMPLATE_PATH,
// with every other setting (DATABASE_URL, TASKER_MESSAGING_BACKEND, PORT, …) read from the
// environment as Tasker's own worker reads them.
import { runWorker } from 'tasker/worker';
import { GiftNoteHandler } from './gift-note.js';
import { HANDLERS } from './handlers.js';

// Our handler definitions and a Tasker Core handler class, side by side.
runWorker([...HANDLERS, GiftNoteHandler]);
