// `npm test`: the parallel project first, then the serial one alone (see jest.config.js).
// Arguments (a path filter, -t …) go to both runs; a filter that matches nothing in one of
// them is not a failure.
import { spawnSync } from 'node:child_process';

const jest = [
  '--experimental-vm-modules',
  '--no-warnings=ExperimentalWarning',
  'node_modules/jest/bin/jest.js',
];
const args = process.argv.slice(2);

for (const [project, extra] of [
  ['parallel', []],
  ['serial', ['--runInBand']],
]) {
  const run = spawnSync(
    process.execPath,
    [...jest, '--selectProjects', project, '--passWithNoTests', ...extra, ...args],
    { stdio: 'inherit' },
  );
  if (run.status !== 0) process.exit(run.status ?? 1);
}
