import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import { type ApiKeyScope, orchestrationConfig } from '#config';
import { PUBLIC_ROUTE } from '#observability';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * With TASKER_API_KEYS set, every HTTP route needs a known X-API-Key (401 otherwise) whose
 * scope allows the method (403 otherwise: read keys may only read), unless its controller or
 * handler is marked `@PublicRoute()` (health, metrics). The decision is made per matched route,
 * never from the path string, so no spelling of a path (case, slashes, escapes) can reach a
 * protected handler unguarded. The OpenAPI document is served outside Nest's routes and stays
 * open. Keys are compared as SHA-256 digests in constant time, all of them every time, and are
 * never logged.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keys: { digest: Buffer; scope: ApiKeyScope }[];

  constructor(
    @Inject(orchestrationConfig.KEY) config: ConfigType<typeof orchestrationConfig>,
    private readonly reflector: Reflector,
  ) {
    this.keys = config.apiKeys.map(({ key, scope }) => ({ digest: digest(key), scope }));
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.keys.length === 0 || context.getType() !== 'http') return true;
    const open = this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_ROUTE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (open) return true;
    const request = context
      .switchToHttp()
      .getRequest<{ path: string; method: string; headers: Record<string, unknown> }>();
    const presented = request.headers['x-api-key'];
    if (typeof presented !== 'string' || presented.length === 0) {
      throw new UnauthorizedException('this API needs an X-API-Key header');
    }
    const scope = this.scopeOf(presented);
    if (!scope) throw new UnauthorizedException('the X-API-Key is not valid');
    if (scope === 'read' && !READ_METHODS.has(request.method)) {
      throw new ForbiddenException(`a read-only API key cannot ${request.method} ${request.path}`);
    }
    return true;
  }

  private scopeOf(presented: string): ApiKeyScope | null {
    const candidate = digest(presented);
    let found: ApiKeyScope | null = null;
    for (const { digest: known, scope } of this.keys) {
      if (timingSafeEqual(candidate, known) && found === null) found = scope;
    }
    return found;
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}
