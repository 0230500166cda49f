import { describe, expect, it } from 'vitest';
import { mapEndpoint, parseHostMapTarget } from '../../../src/net/endpoints.js';

describe('host map', () => {
  const map = { '*.servicebus.test': '127.0.0.1:9443', 'exact.servicebus.test': '127.0.0.2', '*.deep.servicebus.test': '[::1]:8443' };
  it('maps exact names first, then the longest wildcard suffix, keeping the port when none is given', () => {
    expect(mapEndpoint(map, 'exact.servicebus.test', 443)).toEqual({ host: '127.0.0.2', port: 443 });
    expect(mapEndpoint(map, 'Relay-1.ServiceBus.test', 443)).toEqual({ host: '127.0.0.1', port: 9443 });
    expect(mapEndpoint(map, 'a.deep.servicebus.test', 443)).toEqual({ host: '::1', port: 8443 });
  });
  it('leaves other hosts and the bare suffix alone', () => {
    expect(mapEndpoint(map, 'servicebus.test', 443)).toEqual({ host: 'servicebus.test', port: 443 });
    expect(mapEndpoint(map, 'example.com', 443)).toEqual({ host: 'example.com', port: 443 });
    expect(mapEndpoint(undefined, 'x.servicebus.test', 443)).toEqual({ host: 'x.servicebus.test', port: 443 });
  });
});

describe('parseHostMapTarget', () => {
  it('reads address, address:port and [v6]:port; refuses URLs, paths and ports out of range', () => {
    expect(parseHostMapTarget('127.0.0.1:9443')).toEqual({ host: '127.0.0.1', port: 9443 });
    expect(parseHostMapTarget('relay.local')).toEqual({ host: 'relay.local', port: undefined });
    expect(parseHostMapTarget('[::1]:8443')).toEqual({ host: '::1', port: 8443 });
    for (const bad of ['https://127.0.0.1:1', '127.0.0.1:0', '127.0.0.1:65536', 'a/b', '', 'a b:1', '127.0.0.1:'])
      expect(parseHostMapTarget(bad)).toBeUndefined();
  });
});
