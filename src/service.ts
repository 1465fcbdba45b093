import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import type { INestApplication } from '@nestjs/common';
import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { resolveApiToken } from './common/api-token';
import { finishOpenApi } from './common/openapi';
import { logger, PinoNestLogger } from './common/logger';
import type { AppConfig } from './config/config';
import { openDatabase, type OpenDatabase } from './database/database';
import { MllpServer } from './modules/mllp/mllp.server';
import { securityHeaders } from './web/security-headers';

export interface RunningService {
  app: INestApplication;
  db: OpenDatabase;
  httpPort: number;
  mllpPort: number;
  apiToken: string;
  stop(): Promise<void>;
}

/** Opens the database (embedded unless DATABASE_URL), then serves HTTP and MLLP. */
export async function startService(config: AppConfig): Promise<RunningService> {
  const log = logger('service');
  const db = await openDatabase(config);
  const apiToken = resolveApiToken(config);
  const httpsOptions = config.HTTP_TLS_CERT !== undefined && config.HTTP_TLS_KEY !== undefined ? { cert: readFileSync(config.HTTP_TLS_CERT), key: readFileSync(config.HTTP_TLS_KEY) } : undefined;
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, db.dataSource, apiToken), { logger: new PinoNestLogger(), abortOnError: false, httpsOptions });
  app.disable('x-powered-by');
  app.use(securityHeaders(httpsOptions !== undefined));
  // X12 files (999, 277CA) are posted as text; latin1 keeps every byte as sent. 835s are streamed
  // to a temporary file by their controller (they can be 100 MB): the parser leaves that route alone.
  // Body limits: JSON 5 MB (a claims build names up to some hundred thousand encounter ids), forms
  // 1 MB; over them, 413. X12 text below; 835s are streamed.
  app.useBodyParser('json', { limit: '5mb' });
  app.useBodyParser('urlencoded', { limit: '1mb', extended: true });
  app.useBodyParser('text', {
    type: (req) => /^(application\/edi-x12|text\/plain)\b/i.test(req.headers['content-type'] ?? '') && !/^\/api\/remittances(\?|$)/.test(req.url ?? ''),
    limit: '50mb',
    defaultCharset: 'latin1',
  });
  app.useGlobalPipes(new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }));
  const doc = finishOpenApi(SwaggerModule.createDocument(
    app,
    new DocumentBuilder().setTitle('hl7-claims').setDescription('HL7 v2 intake, encounters and charges for billing').setVersion('0.1.0').addServer('/', 'this service').addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API_TOKEN (machine clients: every route), or a personal token from `hl7-claims users token EMAIL --name WHAT` acting with that person\'s role (viewer: reads; biller: work; admin: settings), each request audited' }).build(),
  ));
  SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'docs/json' });
  // A client has HTTP_REQUEST_TIMEOUT_SECONDS to send a whole request (an 835 upload included)
  // and at most 20 s of that for its headers: slow senders cannot hold connections open (408).
  // Node checks those every connectionsCheckingInterval (30 s unless set before listening).
  const server = app.getHttpServer() as unknown as { requestTimeout: number; headersTimeout: number; connectionsCheckingInterval: number };
  server.requestTimeout = config.HTTP_REQUEST_TIMEOUT_SECONDS * 1000;
  server.headersTimeout = Math.min(20_000, server.requestTimeout);
  server.connectionsCheckingInterval = 1000;
  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
  const httpServer = app.getHttpServer() as { address(): { port: number } | string | null };
  const httpAddr = httpServer.address();
  const mllp = app.get(MllpServer);
  const mllpPort = await mllp.start();
  const httpPort = typeof httpAddr === 'object' && httpAddr !== null ? httpAddr.port : config.HTTP_PORT;
  log.info({ event: 'service_started', httpPort, mllpPort, embeddedDatabase: db.embedded !== undefined });
  let stopping: Promise<void> | undefined;
  return {
    app,
    db,
    httpPort,
    mllpPort,
    apiToken,
    stop() {
      stopping ??= (async () => {
        await mllp.stop();
        await app.close();
        await db.close();
        log.info({ event: 'service_stopped' });
      })();
      return stopping;
    },
  };
}
