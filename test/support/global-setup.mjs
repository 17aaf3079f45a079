// globalSetup of the parallel jest project. It picks the PostgreSQL and RabbitMQ the suites use:
// containers started with testcontainers (PostgreSQL built from docker/db, with the real pgmq
// extension, and RabbitMQ) when a Docker engine answers or TASKER_TEST_CONTAINERS=1, else the
// servers in DATABASE_URL / RABBITMQ_URL (the local ones by default). It hands them to the test
// workers through the environment and prints once which server, which pgmq and which broker.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import {
  chooseTestServices,
  describeTestServices,
  dockerEndpoint,
  dockerEngineAnswers,
} from '../../libs/testing/src/test-services.mjs';

export default async function globalSetup() {
  // Lets the suites that need the build make it once per run (test/support/build.ts).
  process.env.TASKER_TEST_RUN_ID = randomUUID();
  const services = chooseTestServices(
    process.env.TASKER_TEST_CONTAINERS,
    await dockerEngineAnswers(dockerEndpoint(process.env.DOCKER_HOST)),
  );
  if (services === 'containers') await startContainers();
  const lines = await describeTestServices(
    process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  );
  const source =
    services === 'containers'
      ? 'containers started with testcontainers'
      : 'DATABASE_URL / RABBITMQ_URL (no Docker engine answered, or TASKER_TEST_CONTAINERS=0)';
  process.stdout.write(`\ntest services: ${source}\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
}

async function startContainers() {
  const { GenericContainer, Wait } = await import('testcontainers');
  const image = await GenericContainer.fromDockerfile(path.resolve('docker/db')).build(
    'tasker-db:test',
    { deleteOnExit: false },
  );
  const [db, broker] = await Promise.all([
    image
      .withEnvironment({ POSTGRES_PASSWORD: 'tasker' })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forHealthCheck())
      .start(),
    // The broker's default guest user may connect only from the container's own loopback.
    new GenericContainer('rabbitmq:3.13-alpine')
      .withEnvironment({ RABBITMQ_DEFAULT_USER: 'tasker', RABBITMQ_DEFAULT_PASS: 'tasker' })
      .withExposedPorts(5672)
      .withWaitStrategy(Wait.forLogMessage('Server startup complete'))
      .start(),
  ]);
  globalThis.taskerTestContainers = [db, broker];
  process.env.DATABASE_URL = `postgres://postgres:tasker@${db.getHost()}:${db.getMappedPort(5432)}/postgres`;
  process.env.RABBITMQ_URL = `amqp://tasker:tasker@${broker.getHost()}:${broker.getMappedPort(5672)}`;
  // libs/testing runs rabbitmqctl (vhosts) inside this container.
  process.env.TASKER_TEST_RABBITMQ_CONTAINER = broker.getId();
}
