// Imported first by ceiling.ts, as the services import their instrument.ts: OpenTelemetry must patch http
// and express before they load, so the ceiling pays for the same request spans as the API.
import { startTracing } from '@crm/telemetry';

export const tracing = startTracing('bench-ceiling');
