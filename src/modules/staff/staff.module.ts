import { Module } from '@nestjs/common';
import { ApiTokensService } from './api-tokens.service';
import { AuditService } from './audit.service';
import { StaffService } from './staff.service';

/** Staff accounts, sessions and the audit trail and per-person API tokens (the web app, the API's guard and the CLI's `users` commands use it). */
@Module({ providers: [StaffService, AuditService, ApiTokensService], exports: [StaffService, AuditService, ApiTokensService] })
export class StaffModule {}
