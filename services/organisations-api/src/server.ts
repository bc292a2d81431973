import { tracing } from './instrument';
import { runApiService } from '@crm/jobs';
import { buildApp, SERVICE } from './app';

runApiService({ service: SERVICE, port: (env) => env.ORGANISATIONS_API_PORT, buildApp, tracing });
