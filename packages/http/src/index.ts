export { createServiceApp, API_BASE, MAX_BODY, type ServiceAppOptions } from './app';
export {
  authenticate, authenticateInSteps, cookieOf, requireRole, mintToken, principalOf, roleAtLeast, ROLES, DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, WARMUP_SUBJECT,
  type Role, type Principal, type JwtPolicy,
} from './auth';
export { jwtPolicy, securityOptions } from './security';
export { expensiveRouteLimit } from './rate-limit';
export { problemHandler, notFoundHandler, toProblem, fieldErrors, isDatabaseUnavailable, isDataException, isQueryTimeout } from './errors';
export { healthHandler, type HealthProbes, type Probe, type PartHealth } from './health';
export { OpenApiRegistry } from './openapi';
export { HttpProblem, notFound, PROBLEM_KINDS, type ProblemKind, type FieldError } from './problem';
export { defineRoute, type RouteSpec, type RouteContext, type ValidatedInput } from './routes';
export {
  intString, idParams, boolString, pageQuery, pageOf, pageRequest, orderBy, likeContains, likePrefix, MIN_SUBSTRING_SEARCH, SEARCH_TERM_DESCRIPTION, searchTerm, pageSchema, MAX_ID, MAX_OFFSET, SORT_FIELDS,
  isoDate, isoDateTime, unstorableReason, unstorableStrings, MIN_DATE, MAX_DATE,
  type Page, type PageInput, type PageRequest,
} from './validation';
export { encodeCursor, decodeCursor, type CursorValue } from './cursor';
export { serve, answerClientErrors, type ServeOptions } from './server';
