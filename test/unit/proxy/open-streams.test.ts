/** Which requests are open-ended, and where a stop ends their bodies: between two messages, never inside one. */
import { describe, expect, it } from 'vitest';
import { isOpenEnded, OpenStream } from '../../../src/proxy/open-streams.js';

function recorder() {
  const written: string[] = [];
  let ended = 0;
  const stream = new OpenStream({
    write: (chunk) => (written.push(Buffer.from(chunk).toString('latin1')), true),
    end: () => void ended++,
  });
  return { stream, written, ended: () => ended };
}

const frame = (body: string) => Buffer.concat([Buffer.from([0, 0, 0, body.length]), Buffer.from(body, 'latin1')]);

describe('isOpenEnded', () => {
  it.each([
    ['GET', '/api/v1/namespaces/default/pods?watch=true', true],
    ['GET', '/api/v1/pods?labelSelector=a&watch=1', true],
    ['GET', '/api/v1/watch/namespaces/default/pods', true],
    ['GET', '/api/v1/namespaces/default/pods/hello-0/log?container=hello&follow=true', true],
    ['GET', '/api/v1/namespaces/default/pods?watch=false', false],
    ['GET', '/api/v1/namespaces/default/pods/hello-0/log?follow=false', false],
    ['GET', '/api/v1/namespaces/default/pods', false],
    ['DELETE', '/api/v1/namespaces/default/pods?watch=true', false],
  ])('%s %s: %s', (method, path, expected) => {
    expect(isOpenEnded(method, path)).toBe(expected);
  });
});

describe('OpenStream', () => {
  it('a JSON watch between two events ends at once; later writes are dropped', () => {
    const r = recorder();
    r.stream.headers(200, ['Content-Type', 'application/json']);
    r.stream.write(Buffer.from('{"type":"ADDED"}\n'));
    r.stream.stop(true);
    expect(r.ended()).toBe(1);
    expect(r.stream.endedAtStop).toBe(true);
    r.stream.write(Buffer.from('{"type":"MODIFIED"}\n'));
    expect(r.written).toEqual(['{"type":"ADDED"}\n']);
  });

  it('in the middle of an event, ends after its newline and keeps nothing of the next', () => {
    const r = recorder();
    r.stream.headers(200, { 'content-type': 'application/json' });
    r.stream.write(Buffer.from('{"type":"ADD'));
    r.stream.stop(true);
    expect(r.ended()).toBe(0);
    r.stream.write(Buffer.from('ED"}\n{"type":"DEL'));
    expect(r.ended()).toBe(1);
    expect(r.written.join('')).toBe('{"type":"ADDED"}\n');
  });

  it('a protobuf watch ends after a whole length-prefixed frame, wherever the writes split it', () => {
    const r = recorder();
    r.stream.headers(200, ['content-type', 'application/vnd.kubernetes.protobuf;stream=watch']);
    const two = Buffer.concat([frame('one\n'), frame('two')]);
    r.stream.write(two.subarray(0, 2));
    r.stream.stop(true);
    r.stream.write(two.subarray(2, 6));
    expect(r.ended()).toBe(0);
    r.stream.write(two.subarray(6));
    expect(r.ended()).toBe(1);
    expect(Buffer.from(r.written.join(''), 'latin1')).toEqual(frame('one\n'));
  });

  it('a stop before the headers ends a 2xx body as soon as they are written, but leaves an error answer whole', () => {
    const ok = recorder();
    ok.stream.stop(false);
    expect(ok.ended()).toBe(0);
    ok.stream.headers(200, ['content-type', 'text/plain']);
    expect(ok.ended()).toBe(1);

    const failed = recorder();
    failed.stream.stop(false);
    failed.stream.headers(503, ['content-type', 'application/json']);
    expect(failed.ended()).toBe(0);
  });
});
