import { Module } from '@nestjs/common';
import { IntakeRepository } from './intake.repository';
import { IntakeService } from './intake.service';

@Module({
  providers: [IntakeRepository, IntakeService],
  exports: [IntakeService, IntakeRepository],
})
export class IntakeModule {}
