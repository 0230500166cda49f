import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { secureContextFor } from '../../../src/net/endpoints.js';
import { createSessionPki, type SessionPki } from '../../../src/pki/session-pki.js';

/** Connects to the server with a given context; resolves 'ok' or the TLS error code. */
function handshake(port: number, secureContext: tls.SecureContext): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', secureContext }, () => {
      resolve(socket.authorized ? 'ok' : String(socket.authorizationError));
      socket.destroy();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('secureContextFor', () => {
  let pki: SessionPki;
  let server: tls.Server;
  let port: number;

  beforeAll(async () => {
    pki = await createSessionPki();
    server = tls.createServer({ cert: pki.server.cert, key: pki.server.key }, (s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('is absent when the profile adds no CA', () => {
    expect(secureContextFor({})).toBeUndefined();
  });

  it("trusts the profile's CA", async () => {
    expect(await handshake(port, secureContextFor({ ca: pki.caCert })!)).toBe('ok');
  });

  it('is built once per CA', () => {
    expect(secureContextFor({ ca: pki.caCert })).toBe(secureContextFor({ ca: pki.caCert }));
  });

  it("leaves Node's shared root store alone: a default context still refuses that CA", async () => {
    secureContextFor({ ca: pki.caCert });
    expect(await handshake(port, tls.createSecureContext())).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('does not trust the CA of another profile', async () => {
    const other = await createSessionPki();
    expect(await handshake(port, secureContextFor({ ca: other.caCert })!)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
});
