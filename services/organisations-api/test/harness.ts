import { startApiHarness, type ApiHarness, type ApiHarnessOptions } from '@crm/service-kit/testing';
import { buildApp, SERVICE } from '../src/app';

/** A real API on the real test database, with the SQL it sends recorded (see @crm/service-kit/testing startApiHarness). */
export type Harness = ApiHarness;

export const startHarness = (options?: ApiHarnessOptions): Promise<Harness> => startApiHarness(SERVICE, buildApp, options);
