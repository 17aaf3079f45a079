// `npm run openapi`: writes docs/openapi.json, the document orchestration serves at /docs-json,
// from the app's modules without connecting to anything (Nest's preview mode instantiates no
// provider). `npm run lint` checks it with redocly; openapi-contract.spec.ts fails while it
// differs from what the app serves.
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { errorMessage } from '#core';
import { openApiDocumentOffline, OPENAPI_FILE } from '../apps/orchestration/src/http/openapi.js';

try {
  const document = await openApiDocumentOffline();
  writeFileSync(OPENAPI_FILE, `${JSON.stringify(document, null, 2)}\n`);
  new Logger('OpenAPI').log(`wrote ${OPENAPI_FILE}`);
} catch (err) {
  new Logger('OpenAPI').error(errorMessage(err));
  process.exitCode = 1;
}
