/** The people API: its OpenAPI title, its cache policy and its route modules, built by the service kit. */
import type { Express } from 'express';
import { peopleApi } from '@crm/cache-policy';
import { buildApiApp, type ApiAppDeps, type ApiDefinition } from '@crm/service-kit';
import { interactionRoutes } from './routes/interactions';
import { peopleRoutes } from './routes/people';

/** The service's name (logs, metrics, traces). */
export const SERVICE = peopleApi.service;

const api: ApiDefinition = {
  policy: peopleApi,
  title: 'CRM people API',
  description: 'People and their interactions. Bearer JWT (HS256) with role reader, editor or admin.',
  // People first: `/people/search` must be matched before `/people/:id`.
  routes: [peopleRoutes, interactionRoutes],
};

/** Builds the people API (supertest imports this; server.ts listens). */
export function buildApp(deps: ApiAppDeps): Express {
  return buildApiApp(api, deps);
}
