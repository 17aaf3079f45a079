import { InMemoryBroker, InMemoryMessageBus } from '../memory/in-memory.message-bus.js';
import { describeMessageBusContract } from './message-bus.contract.js';

describeMessageBusContract('in-memory', () => {
  const broker = new InMemoryBroker();
  return Promise.resolve({
    connect: () => new InMemoryMessageBus({ broker, pollIntervalMs: 5 }),
    teardown: () => Promise.resolve(),
  });
});
