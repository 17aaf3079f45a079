import { describeMessageBusContract } from './message-bus.contract.js';
import { pgmqContractBroker } from './pgmq.contract-broker.js';

// Hybrid, the default TASKER_EVENT_MODE. The other modes have a file each, so the three run
// in parallel: pgmq-event-driven-only / pgmq-polling-only.contract.int-spec.ts.
describeMessageBusContract('pgmq (Hybrid)', () => pgmqContractBroker('Hybrid'));
