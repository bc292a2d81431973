// What other packages may use of the worker (the system tests run it in process): the worker, and its HTTP side
// as server.ts wires it. server.ts is the process; nothing here starts anything.
export { CacheWorker, type CacheWorkerOptions } from './worker';
export { buildWorkerApp, SERVICE, QUEUES_PAGE, type WorkerAppDeps } from './app';
