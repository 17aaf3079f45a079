import { InMemoryBroker, InMemoryMessageBus } from '../memory/in-memory.message-bus.js';
import { describeMessageBusContract, queueDomainEventTap } from './message-bus.contract.js';

// One store for the file: every "new bus" is another consumer of the same queues, so a closed
// bus is a lost consumer whose unsettled messages come back after their visibility timeout.
describeMessageBusContract('in-memory', () => {
  const broker = new InMemoryBroker();
  const bus = () => new InMemoryMessageBus({ broker, pollIntervalMs: 5 });
  return Promise.resolve({
    bus,
    teardown: () => Promise.resolve(),
    tapDomainEvents: (namespace) => Promise.resolve(queueDomainEventTap(bus(), namespace)),
  });
});
