import { createServer, type ServerResponse } from 'node:http';
import { connect as h2connect, createServer as createH2Server, type Http2ServerResponse, type IncomingHttpHeaders } from 'node:http2';
import { connect, type AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  rawStatusResponse,
  sendStatusResponse,
  statusBody,
  statusObject,
  writeRawStatusResponse,
  type SendStatusOptions,
  type FailureStatus,
} from '../../../src/net/k8s-status.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('statusObject and statusBody', () => {
  it('build a Failure Status with the keys in the apiserver order', () => {
    expect(statusBody(503, 'ServiceUnavailable', 'down')).toBe(
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"down","reason":"ServiceUnavailable","code":503}',
    );
    expect(statusObject(503, 'ServiceUnavailable', 'down')).not.toHaveProperty('details');
  });

  it('put details, when given, between reason and code; an empty one is kept', () => {
    expect(statusBody(404, 'NotFound', 'pods "p" not found', { name: 'p', kind: 'pods' })).toBe(
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"p\\" not found","reason":"NotFound","details":{"name":"p","kind":"pods"},"code":404}',
    );
    expect(statusObject(403, 'Forbidden', 'no', { name: 'n', group: 'apps', kind: 'deployments' })).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'no',
      reason: 'Forbidden',
      details: { name: 'n', group: 'apps', kind: 'deployments' },
      code: 403,
    });
    expect(JSON.parse(statusBody(404, 'NotFound', 'the server could not find the requested resource', {}))).toMatchObject({ details: {}, code: 404 });
  });
});

/** The response head and body an HTTP/1.1 client receives, Date normalised. */
async function http1Bytes(status: FailureStatus, options?: SendStatusOptions): Promise<{ head: string; body: string; returned: number }> {
  let returned = -1;
  const server = createServer((_req, res: ServerResponse) => {
    returned = sendStatusResponse(res, status, options);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect((server.address() as AddressInfo).port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        const all = Buffer.concat(chunks).toString('utf8');
        const end = all.indexOf('\r\n\r\n');
        const length = /content-length: (\d+)/i.exec(all);
        if (end >= 0 && length && Buffer.byteLength(all.slice(end + 4)) >= Number(length[1])) {
          socket.destroy();
          resolve(all);
        }
      });
      socket.on('error', reject);
    });
    const end = text.indexOf('\r\n\r\n');
    return { head: text.slice(0, end).replace(/\r\nDate: [^\r]*/, '\r\nDate: X'), body: text.slice(end + 4), returned };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('sendStatusResponse over HTTP/1.1', () => {
  it('writes Content-Type and Content-Length, and returns the body length', async () => {
    const r = await http1Bytes({ code: 503, reason: 'ServiceUnavailable', message: 'going away: ü' });
    // Node adds Date and its keep-alive headers after ours.
    expect(
      r.head.startsWith(
        ['HTTP/1.1 503 Service Unavailable', 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(r.body)}`, 'Date: X'].join('\r\n'),
      ),
    ).toBe(true);
    expect(r.head).not.toMatch(/connection: close/i);
    expect(r.body).toBe(statusBody(503, 'ServiceUnavailable', 'going away: ü'));
    expect(r.returned).toBe(Buffer.byteLength(r.body));
    expect(r.returned).toBeGreaterThan(r.body.length);
  });

  it('asks the client to close when told to', async () => {
    const r = await http1Bytes({ code: 404, reason: 'NotFound', message: 'x' }, { close: true });
    expect(r.head).toBe(
      ['HTTP/1.1 404 Not Found', 'Content-Type: application/json', `Content-Length: ${r.returned}`, 'Connection: close', 'Date: X'].join('\r\n'),
    );
  });

  it('writes details, more headers after the length and lower-case names when asked', async () => {
    const r = await http1Bytes(
      { code: 409, reason: 'AlreadyExists', message: 'pods "p" already exists', details: { name: 'p', kind: 'pods' } },
      { headers: { 'cache-control': 'no-cache, private' }, lowerCaseNames: true, close: true },
    );
    expect(r.head).toBe(
      [
        'HTTP/1.1 409 Conflict',
        'content-type: application/json',
        `content-length: ${r.returned}`,
        'cache-control: no-cache, private',
        'connection: close',
        'Date: X',
      ].join('\r\n'),
    );
    expect(JSON.parse(r.body)).toMatchObject({ reason: 'AlreadyExists', details: { name: 'p', kind: 'pods' }, code: 409 });
  });
});

describe('sendStatusResponse over HTTP/2', () => {
  it('never sends Connection, even when told to close', async () => {
    const warnings = vi.spyOn(process, 'emitWarning');
    let writeHeadHeaders: unknown;
    const server = createH2Server((_req, res: Http2ServerResponse) => {
      const writeHead = vi.spyOn(res, 'writeHead');
      sendStatusResponse(res, { code: 503, reason: 'ServiceUnavailable', message: 'going away' }, { close: true });
      writeHeadHeaders = writeHead.mock.calls[0]![1];
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const session = h2connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const { headers, body } = await new Promise<{ headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const stream = session.request({ ':path': '/x' });
        let headers: IncomingHttpHeaders = {};
        let body = '';
        stream.on('response', (h) => (headers = h));
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => (body += chunk));
        stream.on('end', () => resolve({ headers, body }));
        stream.on('error', reject);
      });
      expect(headers[':status']).toBe(503);
      expect(headers['content-type']).toBe('application/json');
      expect(headers['content-length']).toBe(String(Buffer.byteLength(body)));
      expect(headers).not.toHaveProperty('connection');
      expect(body).toBe(statusBody(503, 'ServiceUnavailable', 'going away'));
      expect(Object.keys(writeHeadHeaders as object).map((k) => k.toLowerCase())).toEqual(['content-type', 'content-length']);
      expect(warnings).not.toHaveBeenCalled();
    } finally {
      session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

/** A Duplex that records what is written and whether it was ended. */
function recordingSocket(): { socket: Duplex; written: () => string; ended: () => boolean } {
  const chunks: Buffer[] = [];
  let ended = false;
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
    final(callback) {
      ended = true;
      callback();
    },
  });
  return { socket, written: () => Buffer.concat(chunks).toString('utf8'), ended: () => ended };
}

describe('writeRawStatusResponse', () => {
  it('writes a whole HTTP/1.1 response with Node’s reason phrase, ends the socket and returns the length', async () => {
    const { socket, written, ended } = recordingSocket();
    const status = { code: 403, reason: 'Forbidden', message: 'no ü', details: { name: 'p', kind: 'pods' } };
    const body = statusBody(403, 'Forbidden', 'no ü', { name: 'p', kind: 'pods' });
    const expected = `HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
    expect(rawStatusResponse(status)).toBe(expected);
    expect(writeRawStatusResponse(socket, status)).toBe(Buffer.byteLength(expected));
    await new Promise((resolve) => setImmediate(resolve));
    expect(written()).toBe(expected);
    expect(ended()).toBe(true);
  });

  it('takes every reason phrase from node:http, and says Error for a code it does not know', () => {
    const line = (code: number) => rawStatusResponse({ code, reason: 'X', message: 'm' }).split('\r\n')[0];
    expect([404, 409, 422, 502, 503, 599].map(line)).toEqual([
      'HTTP/1.1 404 Not Found',
      'HTTP/1.1 409 Conflict',
      'HTTP/1.1 422 Unprocessable Entity',
      'HTTP/1.1 502 Bad Gateway',
      'HTTP/1.1 503 Service Unavailable',
      'HTTP/1.1 599 Error',
    ]);
  });

  it('destroys a socket that can no longer be written', () => {
    const { socket, written } = recordingSocket();
    socket.end();
    const destroy = vi.spyOn(socket, 'destroy');
    writeRawStatusResponse(socket, { code: 503, reason: 'ServiceUnavailable', message: 'm' });
    expect(destroy).toHaveBeenCalledTimes(1);
    expect(written()).toBe('');
  });
});
