import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { cookieOf, HttpProblem } from '@crm/http';

/** The session cookie: HttpOnly, SameSite=Strict, Secure over https, scoped to the dashboard's path. */
export const SESSION_COOKIE = 'crm_queues_session';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Equal digests, compared in constant time: neither the length nor a prefix of the credential leaks. */
function same(candidate: string | undefined, expected: Buffer): boolean {
  return candidate !== undefined && timingSafeEqual(digest(candidate), expected);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The sign-in page: a token field that POSTs, so the credential never travels in a URL. */
function signInPage(mountPath: string, message: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in: queue dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto">
<h1>Queue dashboard</h1>
<p>${escapeHtml(message)}</p>
<form method="post" action="${escapeHtml(`${mountPath}/login`)}">
<label>Dashboard token (<code>ADMIN_QUEUES_TOKEN</code>)<br>
<input type="password" name="token" autocomplete="current-password" required style="width: 100%"></label>
<p><button type="submit">Sign in</button></p>
</form>
<p>API clients send <code>Authorization: Bearer &lt;token&gt;</code> instead.</p>
</body></html>`;
}

const wantsHtml = (req: Request) => req.accepts(['application/json', 'application/problem+json', 'text/html']) === 'text/html';

/**
 * Sign-in for the worker's queue dashboard with its own credential (ADMIN_QUEUES_TOKEN), not a JWT: the worker
 * holds no key that could mint or verify API tokens. The credential comes in `Authorization: Bearer`, or once from
 * the sign-in form (a POST), which sets a session cookie; never from a URL. A browser without credentials gets
 * the form with its 401, an API client a problem+json.
 *
 * The cookie holds an HMAC of the credential rather than the credential itself; rotating ADMIN_QUEUES_TOKEN ends
 * every session.
 */
export function dashboardAuth(credential: string, mountPath: string): { login: Router; guard: RequestHandler } {
  const expected = digest(credential);
  const session = createHmac('sha256', credential).update('crm-queues-session').digest('base64url');
  const expectedSession = digest(session);

  const refuse = (req: Request, res: Response, message: string) => {
    res.setHeader('WWW-Authenticate', 'Bearer realm="queues"');
    if (wantsHtml(req)) {
      res.status(401).type('html').setHeader('Cache-Control', 'no-store').send(signInPage(mountPath, message));
      return undefined;
    }
    return new HttpProblem('unauthorized', `${message} Send Authorization: Bearer <ADMIN_QUEUES_TOKEN>, or sign in at ${mountPath}/login.`);
  };

  const login = express.Router();
  login.get('/login', (_req, res) => {
    res.type('html').setHeader('Cache-Control', 'no-store').send(signInPage(mountPath, 'Sign in with the dashboard token.'));
  });
  login.post('/login', express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 5 }), (req, res, next) => {
    const token = typeof req.body?.token === 'string' ? req.body.token : undefined;
    if (!same(token, expected)) {
      const problem = refuse(req, res, 'That token is not valid.');
      return problem ? next(problem) : undefined;
    }
    res.cookie(SESSION_COOKIE, session, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: mountPath });
    res.redirect(303, mountPath);
  });

  const guard: RequestHandler = (req, res, next) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (same(bearer, expected) || same(cookieOf(req, SESSION_COOKIE), expectedSession)) return next();
    const problem = refuse(req, res, bearer ? 'The token is not valid.' : 'Sign in to see the queues.');
    if (problem) next(problem);
  };
  return { login, guard };
}
