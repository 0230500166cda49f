/** A sign-in that failed or found no credential (its own module: the token client and the credential chain both throw it). */
import { ArcproxyError } from '../errors/index.js';

export class AuthError extends ArcproxyError {
  constructor(code: 'ARCPROXY_NO_CREDENTIAL' | 'ARCPROXY_AUTH_FAILED', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'AuthError';
  }
}
