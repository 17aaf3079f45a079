import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { BrokerHealth } from './broker.health.js';
import { DatabaseHealth } from './database.health.js';

const CHECK_TIMEOUT_MS = 2000;

/**
 * Terminus probes. Liveness looks at the process only (a slow database must not get pods
 * killed); readiness checks dependencies and answers 503 when one is down.
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealth,
    private readonly broker: BrokerHealth,
  ) {}

  @Get()
  @HealthCheck()
  overall() {
    return this.ready();
  }

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.database.check(CHECK_TIMEOUT_MS),
      () => this.broker.check(CHECK_TIMEOUT_MS),
    ]);
  }
}
