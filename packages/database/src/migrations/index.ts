import { Migration001InitialSchema } from './001-initial-schema';
import { Migration002CacheOutbox } from './002-cache-outbox';
import { Migration003ListIndexes } from './003-list-indexes';
import { Migration004ListCounts } from './004-list-counts';
import { Migration005OrganisationStats } from './005-organisation-stats';
import { Migration006PersonSearchText } from './006-person-search-text';

/** Every migration, in order. Listed explicitly so compiled code and tests need no file discovery. */
export const MIGRATIONS = [
  { name: '001-initial-schema', class: Migration001InitialSchema },
  { name: '002-cache-outbox', class: Migration002CacheOutbox },
  { name: '003-list-indexes', class: Migration003ListIndexes },
  { name: '004-list-counts', class: Migration004ListCounts },
  { name: '005-organisation-stats', class: Migration005OrganisationStats },
  { name: '006-person-search-text', class: Migration006PersonSearchText },
];
