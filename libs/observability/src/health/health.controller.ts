import { applyDecorators, Controller, Get, Inject } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { MONITORING_TIMEOUT_MS } from '#persistence';
import { PublicRoute } from '../http/public-route.js';
import { COMPONENT_HEALTH, type ComponentHealth } from './component-health.js';
import { HealthReport } from './health-report.view.js';

/** A terminus probe, described by our own schema rather than terminus's (health-report.view.ts). */
const Probe = (summary: string) =>
  applyDecorators(
    HealthCheck({ noCache: true, swaggerDocumentation: false }),
    ApiOperation({ summary }),
    ApiOkResponse({ type: HealthReport, description: 'Every component checked is up' }),
    ApiServiceUnavailableResponse({ type: HealthReport, description: 'A component is down' }),
  );

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
  @Probe('Readiness, as /health/ready')
  overall() {
    return this.ready();
  }

  @Get('live')
  @Probe('Liveness: the process runs; checks no dependency')
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @Probe('Readiness: 200 when every component is up, else 503 naming it')
  ready() {
    return this.checkAll(false);
  }

  @Get('detailed')
  @Probe('The readiness checks with their details (pools, queue depths)')
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
