import { Module } from '@nestjs/common';
import { DenialsModule } from '../modules/denials/denials.module';
import { StaffModule } from '../modules/staff/staff.module';
import { AdminController } from './admin.controller';
import { AssetsController } from './assets.controller';
import { DashboardController } from './dashboard.controller';
import { ItemController } from './item.controller';
import { QueueController } from './queue.controller';
import { LettersController } from './letters.controller';
import { RulesController } from './rules.controller';
import { StaffSessionGuard } from './session.guard';
import { SignInController } from './signin.controller';
import { SignInRateLimit } from '../common/rate-limit';

/** The staff web app: server-rendered pages over the same services the API uses. */
@Module({ imports: [StaffModule, DenialsModule], controllers: [AssetsController, SignInController, QueueController, ItemController, DashboardController, AdminController, RulesController, LettersController], providers: [StaffSessionGuard, SignInRateLimit] })
export class WebModule {}
