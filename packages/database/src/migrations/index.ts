import { Migration001InitialSchema } from './001-initial-schema';
import { Migration002CacheOutbox } from './002-cache-outbox';
import { Migration003ListIndexes } from './003-list-indexes';

/** Every migration, in order. Listed explicitly so compiled code and tests need no file discovery. */
export const MIGRATIONS = [
  { name: '001-initial-schema', class: Migration001InitialSchema },
  { name: '002-cache-outbox', class: Migration002CacheOutbox },
  { name: '003-list-indexes', class: Migration003ListIndexes },
];
