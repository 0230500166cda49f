/**
 * Bearer-token checks of the emulated ARM: the token must be one the emulated Entra ID signed,
 * for the cloud's ARM audience (with or without its trailing slash), and unexpired. Failures
 * answer 401 with ARM's error body and a WWW-Authenticate challenge naming the authority.
 */
import type { IncomingMessage } from 'node:http';
import { type AccessTokenClaims, type EntraEmulator, TokenValidationError } from '../entra/index.js';
import { ArmHttpError, armErrors } from './errors.js';

export interface ArmAuthenticator {
  authenticate(req: IncomingMessage): Promise<AccessTokenClaims>;
}

/** Both spellings of an audience: ARM accepts "https://x/" and "https://x". */
function audienceVariants(audience: string): string[] {
  const bare = audience.replace(/\/+$/, '');
  return [`${bare}/`, bare];
}

export function createArmAuthenticator(opts: { entra: EntraEmulator; audience: string; tenantId: string; now: () => number }): ArmAuthenticator {
  const allowed = audienceVariants(opts.audience);
  const challenge = (err: ArmHttpError): ArmHttpError =>
    new ArmHttpError(err.status, err.code, err.message, {
      ...err.headers,
      'www-authenticate': `Bearer authorization_uri="${opts.entra.url}/${opts.tenantId}", error="invalid_token", error_description="${err.message.replace(/"/g, "'")}"`,
    });

  return {
    async authenticate(req) {
      const header = req.headers.authorization;
      if (!header) throw challenge(armErrors.headerMissing());
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) throw challenge(armErrors.headerInvalid());
      try {
        return await opts.entra.verifyAccessToken(match[1]!, { audience: allowed });
      } catch (err) {
        if (!(err instanceof TokenValidationError)) throw err;
        if (err.code === 'EXPIRED') {
          throw challenge(armErrors.expiredToken(new Date((err.expiredAt ?? 0) * 1000), new Date(opts.now())));
        }
        if (err.code === 'BAD_AUDIENCE') throw challenge(armErrors.wrongAudience(err.tokenAudience ?? '', allowed));
        throw challenge(armErrors.invalidToken());
      }
    },
  };
}
