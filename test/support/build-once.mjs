// globalSetup of the serial jest project: its suites run the apps as processes from dist/,
// so build once, before any of them, from the sources under test.
import { spawnSync } from 'node:child_process';

export default function buildOnce() {
  const build = spawnSync('npm', ['run', 'build'], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
}
