import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiSecurity } from '@nestjs/swagger';

/** Metadata key read by an app's API key guard. */
export const PUBLIC_ROUTE = 'tasker:public-route';

/**
 * Marks a controller or handler as served without an API key (probes, metrics). Every route
 * without this mark needs a key whenever keys are configured, so a new route is protected by
 * default and opening one is a visible decision in its own source. The same mark tells the
 * OpenAPI document that the route needs no key (an empty security requirement).
 */
export const PublicRoute = (): ClassDecorator & MethodDecorator =>
  applyDecorators(SetMetadata(PUBLIC_ROUTE, true), ApiSecurity({}));
