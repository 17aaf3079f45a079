import { eventPattern } from './fast-events.js';

describe('eventPattern (topic-exchange patterns)', () => {
  it.each([
    ['order.created', ['order.created'], ['order.created.v2', 'order', 'orderxcreated']],
    ['order.*', ['order.created', 'order.shipped'], ['order', 'order.created.v2', 'shop.order.x']],
    ['order.#', ['order', 'order.created', 'order.created.v2'], ['orders.created', 'shop.order']],
    ['#.failed', ['failed', 'order.failed', 'a.b.failed'], ['order.failed.now', 'orderfailed']],
    ['a.#.z', ['a.z', 'a.b.z', 'a.b.c.z'], ['a.z.b', 'b.a.z']],
    ['#', ['x', 'x.y.z'], []],
    ['*.*', ['a.b'], ['a', 'a.b.c']],
  ])('%s', (pattern, matching, notMatching) => {
    const re = eventPattern(pattern);
    for (const name of matching) expect([name, re.test(name)]).toEqual([name, true]);
    for (const name of notMatching) expect([name, re.test(name)]).toEqual([name, false]);
  });
});
