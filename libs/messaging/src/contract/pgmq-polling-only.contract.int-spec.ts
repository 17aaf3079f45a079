import { describeMessageBusContract } from './message-bus.contract.js';
import { pgmqContractBroker } from './pgmq.contract-broker.js';

// Polls on an interval, with no LISTEN connection.
describeMessageBusContract('pgmq (PollingOnly)', () => pgmqContractBroker('PollingOnly'));
