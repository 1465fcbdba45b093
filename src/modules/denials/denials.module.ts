import { Module } from '@nestjs/common';
import { ClaimsModule } from '../claims/claims.module';
import { RemittanceModule } from '../remittance/remittance.module';
import { ScrubberModule } from '../scrubber/scrubber.module';
import { StaffModule } from '../staff/staff.module';
import { DashboardQueries } from './dashboard.queries';
import { QueueSetupRepository } from './queue-setup.repository';
import { DenialsController, WorkController } from './denials.controller';
import { WorkItemsQueries } from './work-items.queries';
import { WorkItemsService } from './work-items.service';

/**
 * Denial records (written by remittance posting) and the work queue built on them: work items are
 * made by triggers in the transaction of their cause (migrations/…-WorkQueue.ts); this module
 * reads them and carries out what people do with them.
 */
@Module({ imports: [ClaimsModule, RemittanceModule, ScrubberModule, StaffModule], controllers: [DenialsController, WorkController], providers: [WorkItemsQueries, WorkItemsService, DashboardQueries, QueueSetupRepository], exports: [WorkItemsQueries, WorkItemsService, DashboardQueries, QueueSetupRepository] })
export class DenialsModule {}
