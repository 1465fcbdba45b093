import { Module } from '@nestjs/common';
import { AcknowledgementsController } from './acknowledgements.controller';
import { AcknowledgementsService } from './acknowledgements.service';
import { BatchesController } from './batches.controller';
import { BatchesService } from './batches.service';

@Module({ controllers: [BatchesController, AcknowledgementsController], providers: [BatchesService, AcknowledgementsService], exports: [BatchesService, AcknowledgementsService] })
export class SubmissionModule {}
