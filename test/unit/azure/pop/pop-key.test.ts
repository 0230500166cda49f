import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { calculateJwkThumbprint } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ArcproxyError } from '../../../../src/errors/index.js';
import { createPopKey, importPopKey, PopKeyError, reqCnf, serializePopKey, type PopKey, type SerializedPopKey } from '../../../../src/azure/pop/pop-key.js';
import { jwkThumbprint } from '../../../../src/azure/pop/thumbprint.js';

// Worked out outside Node (Python's base64.urlsafe_b64encode, padding stripped) for the RFC 7638 key id.
const RFC_KID = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const RFC_KID_REQ_CNF = 'eyJraWQiOiJOemJMc1hoOHVEQ2NkLTZNTndYRjRXXzdub1dYRlpBZkhreFpzUkdDOVhzIiwieG1zX2tzbCI6InN3In0';

/** Echoes one message back from a real worker thread: the same structured clone a key maker would use. */
function throughWorker<T>(message: T): Promise<T> {
  const worker = new Worker("require('node:worker_threads').parentPort.once('message', (m) => require('node:worker_threads').parentPort.postMessage(m));", {
    eval: true,
  });
  return new Promise<T>((resolve, reject) => {
    worker.once('message', (m: T) => void worker.terminate().then(() => resolve(m)));
    worker.once('error', reject);
    worker.postMessage(message);
  });
}

describe('PoP key', () => {
  let key: PopKey;

  beforeAll(async () => {
    key = await createPopKey();
  });

  it('is an RSA-2048 key with exponent 65537', () => {
    expect(key.privateKey.asymmetricKeyType).toBe('rsa');
    expect(key.privateKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(key.publicJwk.e).toBe('AQAB');
  });

  it('has a public JWK of exactly kty, n and e', () => {
    expect(Object.keys(key.publicJwk).sort()).toEqual(['e', 'kty', 'n']);
    expect(key.publicJwk.kty).toBe('RSA');
    // 2048 bits = 256 bytes = 342 base64url characters without padding.
    expect(key.publicJwk.n).toMatch(/^[A-Za-z0-9_-]{342}$/);
  });

  it("has the public JWK's RFC 7638 thumbprint as kid, as jose computes it too", async () => {
    expect(key.kid).toBe(jwkThumbprint(key.publicJwk));
    expect(key.kid).toBe(await calculateJwkThumbprint({ ...key.publicJwk }, 'sha256'));
  });

  it('makes a different key each time', async () => {
    const other = await createPopKey();
    expect(other.kid).not.toBe(key.kid);
  });

  it('survives serialising, a trip through a worker thread and re-import as the same key', async () => {
    const serialized = serializePopKey(key);
    expect(serialized.pkcs8Pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);

    const back = importPopKey(await throughWorker(serialized));
    expect(back.kid).toBe(key.kid);
    expect(back.publicJwk).toEqual(key.publicJwk);

    // The re-imported private key signs what the original public key verifies.
    const data = Buffer.from('signed in the main thread');
    const signature = sign('sha256', data, back.privateKey);
    expect(verify('sha256', data, key.privateKey, signature)).toBe(true);
  });

  it('refuses a serialised key whose kid does not match its private key', async () => {
    const other = await createPopKey();
    const mixed: SerializedPopKey = { kid: other.kid, pkcs8Pem: serializePopKey(key).pkcs8Pem };
    expect(() => importPopKey(mixed)).toThrow(PopKeyError);
    expect(() => importPopKey(mixed)).toThrow(new RegExp(`key id ${key.kid}, not the ${other.kid}`));
  });

  it('refuses text that is not a PEM private key, without repeating it', () => {
    const secretish = 'not-a-pem-but-could-be-anything-sensitive';
    let caught: unknown;
    try {
      importPopKey({ kid: key.kid, pkcs8Pem: secretish });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PopKeyError);
    expect(caught instanceof ArcproxyError && caught.code).toBe('ARCPROXY_POP_KEY_INVALID');
    expect((caught as Error).message).not.toContain(secretish);
  });

  it('refuses RSA keys below 2048 bits and keys that are not RSA', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(() => importPopKey({ kid: 'x', pkcs8Pem: small })).toThrow(/at least 2048 bits; this is an RSA-1024 key/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(() => importPopKey({ kid: 'x', pkcs8Pem: ec })).toThrow(/this is a key of type ec/);
  });
});

describe('reqCnf', () => {
  it('is base64url of {"kid":..,"xms_ksl":"sw"} in that member order, without padding', () => {
    expect(reqCnf(RFC_KID)).toBe(RFC_KID_REQ_CNF);
  });

  it('decodes to exactly the compact JSON kubelogin sends', () => {
    const kid = 'abc_DEF-123';
    expect(Buffer.from(reqCnf(kid), 'base64url').toString('utf8')).toBe(`{"kid":"${kid}","xms_ksl":"sw"}`);
    expect(reqCnf(kid)).not.toMatch(/[=+/]/);
  });
});
