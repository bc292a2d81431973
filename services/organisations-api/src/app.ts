/** The organisations API: its OpenAPI title, its cache policy and its route modules, built by the service kit. */
import type { Express } from 'express';
import { organisationsApi } from '@crm/cache-policy';
import { buildApiApp, type ApiAppDeps, type ApiDefinition } from '@crm/service-kit';
import { mandatRoutes } from './routes/mandats';
import { organisationRoutes } from './routes/organisations';
import { produitRoutes } from './routes/produits';

/** The service's name (logs, metrics, traces). */
export const SERVICE = organisationsApi.service;

const api: ApiDefinition = {
  policy: organisationsApi,
  title: 'CRM organisations API',
  description: 'Organisations, their mandats, and produits. Bearer JWT (HS256) with role reader, editor or admin.',
  routes: [organisationRoutes, mandatRoutes, produitRoutes],
};

/** Builds the organisations API (supertest imports this; server.ts listens). */
export function buildApp(deps: ApiAppDeps): Express {
  return buildApiApp(api, deps);
}
