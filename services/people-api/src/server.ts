import { tracing } from './instrument';
import { runApiService } from '@crm/service-kit';
import { buildApp, SERVICE } from './app';

runApiService({ service: SERVICE, port: (env) => env.PEOPLE_API_PORT, buildApp, tracing });
