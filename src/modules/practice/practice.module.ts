import { Module } from '@nestjs/common';
import { PracticeRepository } from './practice.repository';
import { PracticeService } from './practice.service';

@Module({ providers: [PracticeRepository, PracticeService], exports: [PracticeService] })
export class PracticeModule {}
