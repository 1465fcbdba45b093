import { Module } from '@nestjs/common';
import { RemittanceModule } from '../modules/remittance/remittance.module';
import { StaffModule } from '../modules/staff/staff.module';
import { AdminController } from './admin.controller';
import { AssetsController } from './assets.controller';
import { QueueController } from './queue.controller';
import { StaffSessionGuard } from './session.guard';
import { SignInController } from './signin.controller';

/** The staff web app: server-rendered pages over the same services the API uses. */
@Module({ imports: [StaffModule, RemittanceModule], controllers: [AssetsController, SignInController, QueueController, AdminController], providers: [StaffSessionGuard] })
export class WebModule {}
