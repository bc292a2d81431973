/** Token values: a tag's version (a new one invalidates it) and a fill lock's owner. */
import { randomBytes } from 'node:crypto';

/** A new token, never reused: the time (so tokens sort roughly by age) and 48 random bits. */
export const newToken = () => `${Date.now().toString(36)}.${randomBytes(6).toString('base64url')}`;
