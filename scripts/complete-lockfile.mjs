// The npm mirror this project is built on serves native binaries only for linux-x64, so
// `npm install` leaves other platforms' optional packages (@swc/core-darwin-arm64, ...) out of
// package-lock.json and `npm ci` then rejects the lock as out of sync. This records each missing
// optional package with the os/cpu its name declares, exactly as a full registry would, so
// `npm ci` skips them here and installs them on the platforms they are for.
// Run after any `npm install`: node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const OS = [
  'android',
  'darwin',
  'freebsd',
  'linux',
  'win32',
  'openharmony',
  'sunos',
  'aix',
  'netbsd',
  'openbsd',
  'wasm32',
];
const CPU = [
  'arm64',
  'x64',
  'ia32',
  'arm',
  'ppc64',
  's390x',
  'riscv64',
  'loong64',
  'mips64el',
  'wasm32',
];

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.find((p) => CPU.includes(p)) ?? (parts.includes('arm') ? 'arm' : undefined);
  return { os, cpu: parts.includes('gnueabihf') || parts.includes('eabi') ? 'arm' : cpu };
}

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
let added = 0;
for (const [key, entry] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const target = `node_modules/${dep}`;
    if (lock.packages[target]) continue;
    const { os, cpu } = platformOf(dep);
    if (!os && !cpu) throw new Error(`${key}: cannot tell the platform of optional ${dep}`);
    lock.packages[target] = {
      version,
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      ...(os && os !== 'wasm32' ? { os: [os] } : {}),
      ...(cpu && cpu !== 'wasm32' ? { cpu: [cpu] } : {}),
      ...(os === 'wasm32' || cpu === 'wasm32' ? { cpu: ['wasm32'] } : {}),
    };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) =>
    a === '' ? -1 : b === '' ? 1 : a.localeCompare(b),
  ),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: recorded ${added} platform-specific optional packages`);
