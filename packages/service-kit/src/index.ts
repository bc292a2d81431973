/**
 * The service kit: what both APIs share. The app builder (buildApiApp) with the per-route cache middleware fed by
 * the cache policy, the runtime (response cache, outbox relay, write path), and the process start-up. Its test
 * harness is the subpath `@crm/service-kit/testing`.
 */
export { buildApiApp, type ApiDefinition, type ApiAppDeps, type RouteDeps, type RouteModule } from './app';
export { viewCache, type CachedMiddleware, type ViewCacheOptions } from './view-cache';
export { assertViewsMounted, type ViewMarks } from './mounts';
export { createApiRuntime, type ApiRuntime, type ApiRuntimeOptions } from './runtime';
export { ChangeWriter, type ChangeWriterOptions } from './writer';
export { runApiService, type ApiServiceOptions } from './process';
