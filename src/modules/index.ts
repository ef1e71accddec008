import type { PuenteModule } from '../platform/context.ts';
import { usersModule } from './users/users.module.ts';
import { wisproModule } from './wispro/wispro.module.ts';
import { syncFeedModule } from './sync-feed/sync-feed.module.ts';
import { zohoModule } from './zoho/zoho.module.ts';
import { whmcsModule } from './whmcs/whmcs.module.ts';
import { messagingModule } from './messaging/messaging.module.ts';

/** Every capability, in start order. */
export const modules: PuenteModule[] = [usersModule, wisproModule, syncFeedModule, whmcsModule, zohoModule, messagingModule];
