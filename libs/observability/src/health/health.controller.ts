import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { MONITORING_TIMEOUT_MS } from '#persistence';
import { PublicRoute } from '../http/public-route.js';
import { COMPONENT_HEALTH, type ComponentHealth } from './component-health.js';

/**
 * No single check may hold a probe longer than this; a slow dependency counts as down. The
 * database cancels the monitoring reads behind a check (queue depths) at the same limit.
 */
const CHECK_TIMEOUT_MS = MONITORING_TIMEOUT_MS;

/**
 * Terminus probes. Liveness looks at the process only (a slow database must not get pods
 * killed); readiness checks every component and answers 503 when one is down; detailed runs
 * the same checks with their details (pool counts, queue depths, event-source state) added to
 * each component's status and response time.
 */
@ApiTags('health')
@PublicRoute()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(COMPONENT_HEALTH) private readonly components: ComponentHealth[],
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
    return this.checkAll(false);
  }

  @Get('detailed')
  @HealthCheck()
  detailed() {
    return this.checkAll(true);
  }

  private checkAll(detailed: boolean) {
    return this.health.check(
      this.components.map(
        (component) => () =>
          this.indicators
            .check(component.name)
            .attempt(() => component.check(detailed))
            .withTimeout(CHECK_TIMEOUT_MS),
      ),
    );
  }
}
