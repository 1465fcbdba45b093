import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { Public } from '../../common/auth.guard';
import { MllpServer } from '../mllp/mllp.server';

@ApiTags('health')
@Controller('api/health')
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly mllp: MllpServer,
  ) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Database and MLLP listener status (no token needed)' })
  async health(@Res({ passthrough: true }) res: Response) {
    const started = Date.now();
    let database: { ok: boolean; latencyMs?: number; error?: string };
    try {
      await this.dataSource.query('SELECT 1');
      database = { ok: true, latencyMs: Date.now() - started };
    } catch {
      database = { ok: false, error: 'database not reachable' };
    }
    const listener = this.mllp.status();
    const ok = database.ok && listener.listening;
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'degraded', database, listener };
  }
}
