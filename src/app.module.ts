import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { ApiExceptionFilter } from './common/api.exception';
import { API_TOKEN, BearerAuthGuard } from './common/auth.guard';
import { AppConfig } from './config/config';
import { ConfigModule, type ProcessRole } from './config/config.module';
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
      imports: [ConfigModule.forRoot(config, role), DatabaseModule.forRoot(dataSource), IntakeModule, MllpModule, MessagesModule, EncountersModule, HealthModule, PracticeModule, ClaimsModule, SubmissionModule, RemittanceModule, DenialsModule, StaffModule, WebModule, MetricsModule],
      providers: [
        { provide: API_TOKEN, useValue: apiToken },
        { provide: APP_GUARD, useClass: BearerAuthGuard },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
      ],
    };
  }
}
