// The last lines of a successful `npm start`: what is ready, where, and how to get a token.

/**
 * Polls each service's /health until all answer (200, healthy or degraded). Resolves with the Node
 * version they report, or null if `stopped()` turns true first.
 */
export async function waitUntilHealthy(endpoints, stopped) {
  const runtimes = new Map();
  while (!stopped()) {
    for (const { name, url } of endpoints) {
      if (runtimes.has(name)) continue;
      try {
        const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
        if (res.ok) runtimes.set(name, (await res.json()).runtime);
      } catch {
        // not listening yet
      }
    }
    if (runtimes.size === endpoints.length) return [...new Set(runtimes.values())].join(', ');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return null;
}

/** The ready banner: the three services and their pages, tracing and dashboards when configured, the token command. */
export function banner(endpoints, runtime, env, tty) {
  const bold = (text) => (tty ? `\x1b[1m${text}\x1b[0m` : text);
  const lines = [
    '',
    bold(`Ready (Node ${runtime}):`),
    ...endpoints.map(({ name, url, pages }) => `  ${name.padEnd(18)} ${url}   ${pages.map((p) => url + p).join('  ')}`),
  ];
  if (env.OTEL_SDK_DISABLED === 'true') lines.push('  tracing            off (OTEL_SDK_DISABLED=true)');
  else if (env.OTEL_EXPORTER_OTLP_ENDPOINT) lines.push(`  traces             sent to ${env.OTEL_EXPORTER_OTLP_ENDPOINT}`);
  if (env.JAEGER_UI_URL) lines.push(`  Jaeger             ${env.JAEGER_UI_URL}`);
  if (env.GRAFANA_URL) lines.push(`  Grafana            ${env.GRAFANA_URL}`);
  const worker = endpoints.find((e) => e.name === 'cache-worker');
  if (worker && env.ADMIN_QUEUES_TOKEN) lines.push(`  queue dashboard    ${worker.url}/admin/queues/login   sign in with ${env.ADMIN_QUEUES_TOKEN}`);
  lines.push(
    '  token              npm run -s token -- reader   (editor, admin; --help)',
    '  stop               Ctrl-C',
    '',
  );
  return lines.join('\n') + '\n';
}
