import { createServer, type Server } from 'node:http';
import { Controller, Get, Inject, Injectable, Module, OnApplicationBootstrap, OnModuleDestroy, OnModuleInit, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { logger } from '../../common/logger';
import { databaseGauges, registry } from '../../common/metrics';
import { AppConfig } from '../../config/config';
import { APP_CONFIG, PROCESS_ROLE, type ProcessRole } from '../../config/config.module';

/** Prometheus text exposition at GET /metrics (bearer token), and without a token on METRICS_PORT when set. */
@ApiTags('health')
@ApiBearerAuth()
@Controller()
export class MetricsController {
  @Get('metrics')
  @ApiOperation({ summary: 'Prometheus metrics (text exposition); also on METRICS_PORT without a token when set' })
  async metrics(@Res() res: Response): Promise<void> {
    res.type(registry.contentType).send(await registry.metrics());
  }
}

@Injectable()
export class MetricsServer implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = logger('metrics');
  private server: Server | undefined;
  port: number | undefined;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PROCESS_ROLE) private readonly role: ProcessRole,
  ) {}

  onModuleInit(): void {
    const pool = (): { total: number; idle: number; waiting: number } | undefined => {
      const p = (this.dataSource.driver as unknown as { master?: { totalCount: number; idleCount: number; waitingCount: number } }).master;
      return p === undefined ? undefined : { total: p.totalCount, idle: p.idleCount, waiting: p.waitingCount };
    };
    databaseGauges((sql) => this.dataSource.query(sql), pool);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.role !== 'service' || this.config.METRICS_PORT === undefined) return;
    this.server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(this.config.METRICS_PORT, this.config.METRICS_HOST ?? this.config.HTTP_HOST, resolve);
    });
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr !== null ? addr.port : undefined;
    this.log.info({ event: 'metrics_listening', port: this.port });
  }

  async onModuleDestroy(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  }
}

@Module({ controllers: [MetricsController], providers: [MetricsServer], exports: [MetricsServer] })
export class MetricsModule {}
