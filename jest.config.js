// Native ESM: jest runs under --experimental-vm-modules (see package.json "test"), SWC strips
// types and keeps decorator metadata so Nest's DI sees the same code as the build.
const swcConfig = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2023',
    keepClassNames: true,
  },
  module: { type: 'es6' },
  sourceMaps: 'inline',
};

const project = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', swcConfig] },
  moduleNameMapper: {
    '^#(contracts|core|config|messaging|persistence|observability|testing|client)$':
      '<rootDir>/libs/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
};

/**
 * Two projects, run one after the other by scripts/run-tests.mjs: `parallel` holds every suite
 * that keeps to its own database and vhost; `serial` holds the suites that disturb a shared
 * service (stopping the machine's RabbitMQ) and must run alone.
 *
 * @type {import('jest').Config}
 */
export default {
  maxWorkers: 2,
  testTimeout: 60000,
  projects: [
    {
      ...project,
      displayName: 'parallel',
      testMatch: ['<rootDir>/{apps,libs,test,scripts}/**/*.{spec,int-spec,e2e-spec}.ts'],
      // Picks PostgreSQL and RabbitMQ (testcontainers or DATABASE_URL / RABBITMQ_URL) and prints them.
      globalSetup: '<rootDir>/test/support/global-setup.mjs',
      globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
    },
    {
      ...project,
      displayName: 'serial',
      testMatch: ['<rootDir>/test/**/*.serial-spec.ts'],
      globalSetup: '<rootDir>/test/support/build-once.mjs',
    },
  ],
};
