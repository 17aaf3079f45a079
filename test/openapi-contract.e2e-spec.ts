import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import openapiTS, { astToString } from 'openapi-typescript';
import { TaskerHarness } from './support/tasker-harness.js';

const KEY = 'contract-key-0123456789';
const GENERATED = 'test/contract/openapi.generated.ts';

interface Document {
  paths: Record<string, Record<string, { security?: unknown[] }>>;
}

/**
 * The document a running orchestration serves at /docs-json is the contract: it is the file the
 * repository keeps (and lints), the guard enforces the security it declares, and the client in
 * libs/client type-checks against the types openapi-typescript generates from it.
 */
describe('the served OpenAPI document', () => {
  let tasker: TaskerHarness;
  let served: Document;

  beforeAll(async () => {
    tasker = await TaskerHarness.start({ env: { TASKER_API_KEYS: `${KEY}:write` } });
    const response = await fetch(`${tasker.baseUrl}/docs-json`);
    expect(response.status).toBe(200);
    served = (await response.json()) as Document;
  });

  afterAll(async () => {
    rmSync(GENERATED, { force: true });
    await tasker?.stop();
  });

  it('is docs/openapi.json', () => {
    expect(served).toEqual(JSON.parse(readFileSync('docs/openapi.json', 'utf8')));
  });

  it('declares a key exactly where the guard asks for one', async () => {
    const declared: string[] = [];
    const enforced: string[] = [];
    for (const [path, item] of Object.entries(served.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const url = path.replace(/\{[^}]+\}/g, '0191c0de-0000-7000-8000-000000000000');
        const reply = await fetch(`${tasker.baseUrl}${url}`, { method: method.toUpperCase() });
        await reply.body?.cancel();
        const name = `${method.toUpperCase()} ${path}`;
        if (operation.security?.length !== 0) declared.push(name);
        if (reply.status === 401) enforced.push(name);
      }
    }
    expect(declared.length).toBeGreaterThan(20);
    expect(enforced).toEqual(declared);
  });

  it('types the client: openapi-typescript output and libs/client check against each other', async () => {
    // A default makes an input optional (the server fills it in), not required.
    const types = astToString(
      await openapiTS(JSON.stringify(served), { defaultNonNullable: false }),
    );
    writeFileSync(GENERATED, types);
    const tsc = spawnSync(
      process.execPath,
      ['node_modules/typescript/bin/tsc', '-p', 'test/contract/tsconfig.json'],
      { encoding: 'utf8' },
    );
    expect(`${tsc.stdout}${tsc.stderr}`).toBe('');
    expect(tsc.status).toBe(0);
  }, 120_000);
});
