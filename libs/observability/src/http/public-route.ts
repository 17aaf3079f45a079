import { SetMetadata } from '@nestjs/common';

/** Metadata key read by an app's API key guard. */
export const PUBLIC_ROUTE = 'tasker:public-route';

/**
 * Marks a controller or handler as served without an API key (probes, metrics). Every route
 * without this mark needs a key whenever keys are configured, so a new route is protected by
 * default and opening one is a visible decision in its own source.
 */
export const PublicRoute = (): ClassDecorator & MethodDecorator => SetMetadata(PUBLIC_ROUTE, true);
