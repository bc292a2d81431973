import { startApiHarness, type ApiHarness, type ApiHarnessOptions } from '@crm/jobs';
import { buildApp, SERVICE } from '../src/app';

/** A real API on the real test database, with the SQL it sends recorded (see @crm/jobs startApiHarness). */
export type Harness = ApiHarness;

export const startHarness = (options?: ApiHarnessOptions): Promise<Harness> => startApiHarness(SERVICE, buildApp, options);
