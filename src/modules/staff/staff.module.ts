import { Module } from '@nestjs/common';
import { AuditService } from './audit.service';
import { StaffService } from './staff.service';

/** Staff accounts, sessions and the audit trail (the web app and the CLI's `users` commands use it). */
@Module({ providers: [StaffService, AuditService], exports: [StaffService, AuditService] })
export class StaffModule {}
