// Imported first by server.ts: OpenTelemetry must patch http, express, ioredis and pg before they are loaded.
import { startTracing } from '@crm/telemetry';

export const tracing = startTracing('people-api');
