import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../common/auth.guard';

/** The app's own files (src/web/assets, beside the compiled code or in the package's src) and the pinned htmx. */
function assetDir(): string {
  for (const dir of [join(__dirname, 'assets'), join(__dirname, '..', '..', 'src', 'web', 'assets'), join(__dirname, '..', '..', '..', 'src', 'web', 'assets')]) {
    if (existsSync(join(dir, 'app.css'))) return dir;
  }
  throw new Error('the staff app assets (src/web/assets) are missing from the package');
}

const TYPES: Record<string, string> = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8', svg: 'image/svg+xml' };

/**
 * Assets are read once at start and served from memory with a long cache lifetime (their URLs
 * carry a version); nothing is fetched from a CDN, so the app works with no internet.
 */
@ApiExcludeController()
@Public()
@Controller('assets')
export class AssetsController {
  private readonly files = new Map<string, Buffer>();

  constructor() {
    const dir = assetDir();
    for (const name of ['app.css', 'app.js', 'favicon.svg']) this.files.set(name, readFileSync(join(dir, name)));
    this.files.set('htmx.min.js', readFileSync(require.resolve('htmx.org/dist/htmx.min.js')));
  }

  @Get(':name')
  serve(@Param('name') name: string, @Res() res: Response): void {
    const body = this.files.get(name);
    if (body === undefined) throw new NotFoundException(`no asset ${name}`);
    res.setHeader('Content-Type', TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream');
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.send(body);
  }
}
