import { formatDuration } from './output.js';

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [45, '45s'],
    [725, '12m 5s'],
    [3600, '1h'],
    [3 * 3600 + 20 * 60 + 59, '3h 20m'],
    [2 * 86400 + 4 * 3600 + 1, '2d 4h'],
    [-3, '0s'],
  ])('%d s is %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
