/** What a relay connection's TLS socket is given: the relay's TLS options, not ws's request options. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import tls from 'node:tls';
import { relayWebSocketOptions } from '../../../src/relay/sender.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('relayWebSocketOptions createConnection', () => {
  it("passes tls.connect only what the socket needs (Node keeps that object for the socket's lifetime)", () => {
    const fake = {} as tls.TLSSocket;
    const connect = vi.spyOn(tls, 'connect').mockImplementation(() => fake);
    const { createConnection } = relayWebSocketOptions({ hostMap: { 'relay.example.net': '127.0.0.1:9443' } }, 'relay.example.net');
    // What ws hands createConnection for a relay handshake (ws 8).
    const wsRequestOptions = {
      allowSynchronousEvents: true,
      protocolVersion: 13,
      maxPayload: 104857600,
      headers: { ServiceBusAuthorization: 'SharedAccessSignature sr=x&sig=secret', 'Sec-WebSocket-Key': 'abc', Connection: 'Upgrade', Upgrade: 'websocket' },
      host: 'relay.example.net',
      port: '443',
      path: '/$hc/hc1?sb-hc-action=connect&sb-hc-id=1',
      method: 'GET',
      timeout: undefined,
      _defaultAgent: {},
    };
    const socket = (createConnection as unknown as (o: object) => unknown)(wsRequestOptions);
    expect(socket).toBe(fake);
    expect(connect).toHaveBeenCalledTimes(1);
    const given = connect.mock.calls[0]![0] as unknown as Record<string, unknown>;
    expect(given).toMatchObject({ host: '127.0.0.1', port: 9443, servername: 'relay.example.net' });
    expect(typeof given['checkServerIdentity']).toBe('function');
    for (const key of ['headers', 'path', 'method', '_defaultAgent', 'maxPayload', 'allowSynchronousEvents', 'timeout']) expect(given).not.toHaveProperty(key);
  });

  it('keeps a handshake timeout ws asks for', () => {
    const connect = vi.spyOn(tls, 'connect').mockImplementation(() => ({}) as tls.TLSSocket);
    const { createConnection } = relayWebSocketOptions({}, 'relay.example.net:8443');
    (createConnection as unknown as (o: object) => unknown)({ host: 'relay.example.net', port: '8443', path: '/$hc/x', timeout: 5000 });
    const given = connect.mock.calls[0]![0] as unknown as Record<string, unknown>;
    expect(given).toMatchObject({ host: 'relay.example.net', port: 8443, timeout: 5000 });
    expect(given).not.toHaveProperty('path');
  });
});
