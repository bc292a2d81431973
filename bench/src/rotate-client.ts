import type autocannon from 'autocannon';

/**
 * autocannon's `setupClient`, loaded by path inside each worker thread (functions cannot cross to a
 * worker): every connection starts at a random place in the request list, so the connections do not
 * ask for the same path in lockstep.
 */
export = function setupClient(client: autocannon.Client): void {
  // Each client holds its own copy of the options, the request list included (autocannon's httpClient).
  const requests = (client as unknown as { opts: { requests?: autocannon.Request[] } }).opts.requests ?? [];
  if (requests.length < 2) return;
  const offset = Math.floor(Math.random() * requests.length);
  client.setRequests([...requests.slice(offset), ...requests.slice(0, offset)].map(({ path }) => ({ path })));
};
