import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { MessagingModule } from '#messaging';
import { HttpMetricsInterceptor } from './http-metrics.interceptor.js';
import { MetricsController } from './metrics.controller.js';
import { TaskerMetrics } from './tasker.metrics.js';

/** GET /metrics and the TaskerMetrics every service records into. */
@Global()
@Module({
  imports: [MessagingModule],
  controllers: [MetricsController],
  providers: [TaskerMetrics, { provide: APP_INTERCEPTOR, useClass: HttpMetricsInterceptor }],
  exports: [TaskerMetrics],
})
export class MetricsModule {}
