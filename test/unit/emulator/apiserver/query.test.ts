/** Query parameters decoded as kube-apiserver's parameter codec decodes them (query.ts), in isolation and over HTTP. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIST_INTS, QueryError, queryBool, queryInts, queryPorts } from '../../../../src/emulator/apiserver/query.js';
import type { ExecRequest, StreamingHandlers } from '../../../../src/emulator/apiserver/types.js';
import { call, rawUpgrade, startHarness, stream, type Harness, type LineStream } from './harness.js';

const q = (s: string) => new URLSearchParams(s);

describe('queryBool (Convert_Slice_string_To_bool)', () => {
  it.each(['true', 'True', 'TRUE', '1', 't', 'yes', ''])('reads %j as true', (v) => {
    expect(queryBool(q(`watch=${v}`), 'watch')).toBe(true);
  });
  it.each(['false', 'False', 'FALSE', 'fAlSe', '0'])('reads %j as false', (v) => {
    expect(queryBool(q(`watch=${v}`), 'watch')).toBe(false);
  });
  it('is false when absent and reads only the first of repeated values', () => {
    expect(queryBool(q('follow=true'), 'watch')).toBe(false);
    expect(queryBool(q('watch=0&watch=1'), 'watch')).toBe(false);
    expect(queryBool(q('watch=1&watch=0'), 'watch')).toBe(true);
  });
});

describe('queryInts (strconv.ParseInt)', () => {
  it('parses signed decimal integers and leaves absent ones out', () => {
    expect(queryInts(q('limit=500&timeoutSeconds=%2B30'), LIST_INTS)).toEqual({ limit: 500, timeoutSeconds: 30 });
    expect(queryInts(q('tailLines=-3'), ['tailLines'])).toEqual({ tailLines: -3 });
    expect(queryInts(q(''), LIST_INTS)).toEqual({});
  });
  it.each([
    ['limit=abc', 'strconv.ParseInt: parsing "abc": invalid syntax'],
    ['limit=', 'strconv.ParseInt: parsing "": invalid syntax'],
    ['limit=1.5', 'strconv.ParseInt: parsing "1.5": invalid syntax'],
    ['limit=0x10', 'strconv.ParseInt: parsing "0x10": invalid syntax'],
    ['limit=9223372036854775808', 'strconv.ParseInt: parsing "9223372036854775808": value out of range'],
    ['timeoutSeconds=x&limit=y', 'strconv.ParseInt: parsing "x": invalid syntax'],
  ])("refuses %s with Go's message", (query, message) => {
    expect(() => queryInts(q(query), LIST_INTS)).toThrow(new QueryError(message));
  });
});

describe('queryPorts (Convert_Slice_string_To_Slice_int32)', () => {
  it('reads repeated and comma-separated ports', () => {
    expect(queryPorts(q('ports=8080,9090&ports=7000'))).toEqual([8080, 9090, 7000]);
    expect(queryPorts(q(''))).toEqual([]);
  });
  it('refuses what ParseUint(v, 10, 16) refuses', () => {
    expect(() => queryPorts(q('ports=http'))).toThrow('cannot convert to []int32: strconv.ParseUint: parsing "http": invalid syntax');
    expect(() => queryPorts(q('ports=70000'))).toThrow('cannot convert to []int32: strconv.ParseUint: parsing "70000": value out of range');
    expect(() => queryPorts(q('ports=-1'))).toThrow('invalid syntax');
  });
});

describe('over HTTP', () => {
  let h: Harness;
  let exec: ExecRequest | undefined;
  const recording: StreamingHandlers = {
    exec(_req, socket, _head, request) {
      exec = request;
      socket.end('HTTP/1.1 101 Switching Protocols\r\n\r\n');
    },
    portForward(_req, socket) {
      socket.end('HTTP/1.1 101 Switching Protocols\r\n\r\n');
    },
  };
  const open = new Set<LineStream>();
  beforeAll(async () => {
    h = await startHarness({ streaming: recording });
  });
  afterAll(async () => {
    for (const s of open) s.close();
    await h?.server.close();
  });

  it('serves watch=True (the Python client) as a watch', async () => {
    const s = await stream(h, '/api/v1/namespaces/default/pods?watch=True', { token: h.admin });
    open.add(s);
    expect(s.status).toBe(200);
    expect(JSON.parse(await s.next())).toMatchObject({ type: 'ADDED', object: { kind: 'Pod' } });
    s.close();
  });

  it('follows a log with follow=True', async () => {
    const s = await stream(h, '/api/v1/namespaces/default/pods/hello-0/log?follow=True&tailLines=0', { token: h.admin });
    open.add(s);
    expect(s.status).toBe(200);
    expect(await s.next(3000)).toMatch(/^hello from hello-0: line \d+$/);
    s.close();
  });

  it("answers a list with a bad limit or timeoutSeconds with the apiserver's 400 Status", async () => {
    const r = await call(h, '/api/v1/namespaces/default/pods?limit=ten', { token: h.admin });
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400, message: 'strconv.ParseInt: parsing "ten": invalid syntax' });
    const w = await call(h, '/api/v1/namespaces?watch=1&timeoutSeconds=soon', { token: h.admin });
    expect(w.status).toBe(400);
    expect(w.json().message).toBe('strconv.ParseInt: parsing "soon": invalid syntax');
    // Authorization comes first, as in the apiserver's filter chain.
    expect((await call(h, '/api/v1/namespaces/default/pods?limit=ten', { token: h.nobody })).status).toBe(403);
  });

  it('answers a log with a bad integer with the 400 Status', async () => {
    const r = await call(h, '/api/v1/namespaces/default/pods/hello-0/log?sinceSeconds=1h', { token: h.admin });
    expect(r.status).toBe(400);
    expect(r.json().message).toBe('strconv.ParseInt: parsing "1h": invalid syntax');
  });

  it('reads exec flags the way the Python client sends them', async () => {
    const headers = {
      Authorization: `Bearer ${h.admin}`,
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Protocol': 'v4.channel.k8s.io',
    };
    await rawUpgrade(h, '/api/v1/namespaces/default/pods/hello-0/exec?command=ls&stdin=False&stdout=True&stderr=True&tty=False', headers);
    expect(exec).toMatchObject({ stdin: false, stdout: true, stderr: true, tty: false });
  });

  it('refuses port-forward ports that do not parse, before looking for the pod', async () => {
    const raw = await rawUpgrade(h, '/api/v1/namespaces/default/pods/ghost/portforward?ports=http', {
      Authorization: `Bearer ${h.admin}`,
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Protocol': 'v4.channel.k8s.io',
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({
      reason: 'BadRequest',
      message: 'cannot convert to []int32: strconv.ParseUint: parsing "http": invalid syntax',
    });
  });
});
