export { createServiceApp, API_BASE, MAX_BODY, type ServiceAppOptions } from './app';
export { authenticate, cookieOf, requireRole, mintToken, principalOf, roleAtLeast, ROLES, type Role, type Principal } from './auth';
export { problemHandler, notFoundHandler, toProblem, fieldErrors, isDatabaseUnavailable } from './errors';
export { healthHandler, type HealthProbes, type Probe, type PartHealth } from './health';
export { OpenApiRegistry } from './openapi';
export { HttpProblem, notFound, PROBLEM_KINDS, type ProblemKind, type FieldError } from './problem';
export { defineRoute, type RouteSpec, type RouteContext, type ValidatedInput } from './routes';
export {
  intString, idParams, boolString, pageQuery, pageOf, orderBy, likeContains, pageSchema, MAX_ID, SORT_FIELDS,
  type Page, type PageInput,
} from './validation';
export { serve, type ServeOptions } from './server';
