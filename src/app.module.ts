import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { DataSource } from 'typeorm';
import { ApiExceptionFilter } from './common/api.exception';
import { API_TOKEN, BearerAuthGuard } from './common/auth.guard';
import { ApiRateLimitGuard, PgThrottlerStorage } from './common/rate-limit';
import { AppConfig } from './config/config';
import { APP_CONFIG, ConfigModule, type ProcessRole } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { ClaimsModule } from './modules/claims/claims.module';
import { EncountersModule } from './modules/encounters/encounters.module';
import { HealthModule } from './modules/health/health.module';
import { IntakeModule } from './modules/intake/intake.module';
import { MessagesModule } from './modules/messages/messages.module';
import { MetricsModule } from './modules/metrics/metrics.module';
import { MllpModule } from './modules/mllp/mllp.module';
import { PracticeModule } from './modules/practice/practice.module';
import { DenialsModule } from './modules/denials/denials.module';
import { RemittanceModule } from './modules/remittance/remittance.module';
import { SubmissionModule } from './modules/submission/submission.module';
import { StaffModule } from './modules/staff/staff.module';
import { WebModule } from './web/web.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, dataSource: DataSource, apiToken: string, role: ProcessRole = 'service'): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config, role), DatabaseModule.forRoot(dataSource),
        // The API's rate limit, counted in PostgreSQL so that all instances share it.
        ThrottlerModule.forRootAsync({
          inject: [APP_CONFIG, DataSource],
          useFactory: (c: AppConfig, ds: DataSource) => ({
            throttlers: [{ name: 'default', ttl: 60_000, limit: c.RATE_LIMIT_API_PER_MINUTE, blockDuration: 0, skipIf: () => c.RATE_LIMIT_API_PER_MINUTE === 0 }],
            storage: new PgThrottlerStorage(ds),
          }),
        }),
        IntakeModule, MllpModule, MessagesModule, EncountersModule, HealthModule, PracticeModule, ClaimsModule, SubmissionModule, RemittanceModule, DenialsModule, StaffModule, WebModule, MetricsModule],
      providers: [
        { provide: API_TOKEN, useValue: apiToken },
        // Guards run in this order: the rate limit first, so that refused credentials count too.
        { provide: APP_GUARD, useClass: ApiRateLimitGuard },
        { provide: APP_GUARD, useClass: BearerAuthGuard },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
      ],
    };
  }
}
