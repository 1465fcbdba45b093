import { Module } from '@nestjs/common';
import { AcknowledgementsController } from './acknowledgements.controller';
import { AcknowledgementsService } from './acknowledgements.service';
import { BatchesController } from './batches.controller';
import { BatchesService } from './batches.service';
import { SubmissionController } from './submission.controller';
import { SubmissionService } from './submission.service';
import { ClaimsModule } from '../claims/claims.module';
import { ScrubberModule } from '../scrubber/scrubber.module';
import { RemittanceModule } from '../remittance/remittance.module';

@Module({
  imports: [ClaimsModule, ScrubberModule, RemittanceModule],
  controllers: [BatchesController, AcknowledgementsController, SubmissionController],
  providers: [BatchesService, AcknowledgementsService, SubmissionService],
  exports: [BatchesService, AcknowledgementsService, SubmissionService],
})
export class SubmissionModule {}
