import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { Public } from '../../common/auth.guard';
import { MllpServer } from '../mllp/mllp.server';
import { CodeSetsService } from '../scrubber/codesets.service';

@ApiTags('health')
@Controller('api/health')
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly mllp: MllpServer,
    private readonly codeSets: CodeSetsService,
  ) {}

  @Get('live')
  @Public()
  @ApiOperation({ summary: 'Liveness: the process answers (no database check; for a process manager\'s restart decision)' })
  live() {
    return { status: 'ok', uptimeSeconds: Math.round(process.uptime()) };
  }

  @Get('ready')
  @Public()
  @ApiOperation({ summary: 'Readiness: database reachable, migrations applied, code sets loaded, MLLP listening (503 with what is not; for a load balancer)' })
  async ready(@Res({ passthrough: true }) res: Response) {
    const checks: Record<string, { ok: boolean; detail?: string }> = {};
    try {
      await this.dataSource.query('SELECT 1');
      checks.database = { ok: true };
      const pending = await this.dataSource.showMigrations();
      checks.migrations = pending ? { ok: false, detail: 'migrations pending' } : { ok: true };
    } catch {
      checks.database = { ok: false, detail: 'database not reachable' };
      checks.migrations = { ok: false, detail: 'unknown: database not reachable' };
    }
    checks.codeSets = this.codeSets.loaded() ? { ok: true } : { ok: false, detail: 'code sets still loading' };
    const listener = this.mllp.status();
    checks.listener = listener.listening ? { ok: true } : { ok: false, detail: 'MLLP listener not listening' };
    const ok = Object.values(checks).every((c) => c.ok);
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ready' : 'not_ready', checks };
  }

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
