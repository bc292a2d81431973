import { Migration001InitialSchema } from './001-initial-schema';
import { Migration002CacheOutbox } from './002-cache-outbox';

/** Every migration, in order. Listed explicitly so compiled code and tests need no file discovery. */
export const MIGRATIONS = [
  { name: '001-initial-schema', class: Migration001InitialSchema },
  { name: '002-cache-outbox', class: Migration002CacheOutbox },
];
