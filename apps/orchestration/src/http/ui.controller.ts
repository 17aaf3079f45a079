import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { PublicRoute } from '#observability';

interface FileResponse {
  headersSent: boolean;
  setHeader(name: string, value: string): void;
  status(code: number): FileResponse;
  json(body: unknown): void;
  sendFile(
    path: string,
    options: { root: string; dotfiles: 'deny'; headers: Record<string, string> },
    done: (err?: Error & { status?: number }) => void,
  ): void;
}

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Where `npm run build` puts the dashboard (vite's outDir, apps/dashboard/vite.config.ts): beside
 * this app in dist/ when it runs built, and that same folder when its sources run (the tests).
 */
const BUILT_UI = import.meta.url.endsWith('.ts')
  ? resolve(here, '../../../../dist/apps/dashboard')
  : resolve(here, '../../../dashboard');

/** The page may load only its own scripts and styles and talk only to this origin. */
const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/**
 * The web dashboard (apps/dashboard) as static files at /ui. It is public like the probes: the
 * files hold no data, and the page reads everything through the /v1 API with the operator's key.
 * A path whose last segment has a dot is a file (404 when missing); any other path is a route of
 * the single-page app and gets index.html.
 */
@ApiExcludeController()
@PublicRoute()
@Controller('ui')
export class UiController {
  private readonly root = existsSync(resolve(BUILT_UI, 'index.html')) ? BUILT_UI : undefined;

  @Get(['', '*path'])
  serve(@Param('path') segments: string[] | undefined, @Res() response: FileResponse): void {
    if (!this.root) throw new NotFoundException('the dashboard is not built: run npm run build');
    const path = (segments ?? []).join('/');
    const isFile = (segments?.at(-1) ?? '').includes('.');
    const file = isFile ? path : 'index.html';
    const headers: Record<string, string> = {
      ...PAGE_HEADERS,
      // Vite names every asset by its content hash; the page itself must be checked each time.
      'Cache-Control': file.startsWith('assets/')
        ? 'public, max-age=31536000, immutable'
        : 'no-cache',
    };
    response.sendFile(file, { root: this.root, dotfiles: 'deny', headers }, (err) => {
      if (!err || response.headersSent) return;
      const status = err.status === 403 ? 403 : 404;
      response.status(status).json({ statusCode: status, message: `no dashboard file ${path}` });
    });
  }
}
