import { Migration001InitialSchema } from './001-initial-schema';

/** Every migration, in order. Listed explicitly so compiled code and tests need no file discovery. */
export const MIGRATIONS = [{ name: '001-initial-schema', class: Migration001InitialSchema }];
