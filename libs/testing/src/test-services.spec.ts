import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chooseTestServices, dockerEndpoint, dockerEngineAnswers } from './test-services.mjs';

describe('the test services', () => {
  it('are containers when asked (TASKER_TEST_CONTAINERS=1), even with no engine answering', () => {
    expect(chooseTestServices('1', false)).toBe('containers');
    expect(chooseTestServices('true', true)).toBe('containers');
  });

  it('are DATABASE_URL / RABBITMQ_URL when containers are refused, even with an engine', () => {
    expect(chooseTestServices('0', true)).toBe('local');
    expect(chooseTestServices('false', false)).toBe('local');
  });

  it('are containers exactly when an engine answers, when the variable is unset', () => {
    expect(chooseTestServices(undefined, true)).toBe('containers');
    expect(chooseTestServices('', true)).toBe('containers');
    expect(chooseTestServices(undefined, false)).toBe('local');
  });

  it('refuse another value of TASKER_TEST_CONTAINERS, naming it', () => {
    expect(() => chooseTestServices('yes', true)).toThrow(
      'TASKER_TEST_CONTAINERS must be 1 or 0 (got "yes")',
    );
  });

  it('look for the engine at DOCKER_HOST, or the default socket', () => {
    expect(dockerEndpoint(undefined)).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(dockerEndpoint('unix:///run/user/1000/docker.sock')).toEqual({
      socketPath: '/run/user/1000/docker.sock',
    });
    expect(dockerEndpoint('tcp://10.0.0.5:2375')).toEqual({ url: 'http://10.0.0.5:2375' });
  });

  describe('engine detection', () => {
    let dir: string;
    let server: Server | undefined;
    beforeEach(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'docker-ping-'));
    });
    afterEach(async () => {
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      server = undefined;
      await rm(dir, { recursive: true, force: true });
    });

    it('finds an engine that answers /_ping on its socket', async () => {
      const socketPath = path.join(dir, 'docker.sock');
      server = createServer((req, res) => {
        res.statusCode = req.url === '/_ping' ? 200 : 404;
        res.end('OK');
      });
      await new Promise<void>((resolve) => server!.listen(socketPath, resolve));
      await expect(dockerEngineAnswers({ socketPath })).resolves.toBe(true);
    });

    it('finds none where no socket is, or nothing listens', async () => {
      await expect(dockerEngineAnswers({ socketPath: path.join(dir, 'none.sock') })).resolves.toBe(
        false,
      );
      await expect(dockerEngineAnswers({ url: 'http://127.0.0.1:1' })).resolves.toBe(false);
    });
  });
});
