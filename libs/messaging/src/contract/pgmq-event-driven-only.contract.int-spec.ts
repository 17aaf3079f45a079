import { describeMessageBusContract } from './message-bus.contract.js';
import { pgmqContractBroker } from './pgmq.contract-broker.js';

// Reads only when notified (or after a LISTEN (re)connect, or a failed handler's timeout).
describeMessageBusContract('pgmq (EventDrivenOnly)', () => pgmqContractBroker('EventDrivenOnly'));
