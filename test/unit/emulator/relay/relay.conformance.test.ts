/**
 * The emulated relay against the documented Hybrid Connections protocol, driven by the plain
 * `ws` client in both roles (listener and sender).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createSas } from '../../../../src/relay/sas.js';
import {
  echoAll,
  handshake,
  nextClose,
  nextMessage,
  nowSeconds,
  rawClient,
  rawListener,
  startRelayFixture,
  until,
  type AcceptMessage,
  type RelayFixture,
} from './relay-fixture.js';

let fx: RelayFixture;
const opened: WebSocket[] = [];
const track = <T extends WebSocket>(ws: T): T => {
  opened.push(ws);
  ws.on('error', () => undefined);
  return ws;
};

beforeAll(async () => {
  fx = await startRelayFixture();
});
afterEach(async () => {
  for (const ws of opened.splice(0)) ws.terminate();
  await until(() => fx.relay.listenerCount(fx.host, fx.entry.hybridConnectionName) === 0, 5000, 'listeners gone');
});
afterAll(async () => {
  await fx.relay.close();
});

function sender(token: string | undefined, entry = fx.entry, extra = '&sb-hc-id=sender-1', extraHeaders: Record<string, string> = {}): WebSocket {
  return track(rawClient(fx, fx.url(entry, 'connect', extra), { ...(token ? { ServiceBusAuthorization: token } : {}), ...extraHeaders }));
}

describe('connect with a valid Send SAS', () => {
  it('gets 101 once a listener accepts, and bytes flow both ways', async () => {
    const control = track(await rawListener(fx));
    const accepted = echoAll(fx, control);
    const ws = sender(fx.sendToken(), fx.entry, '&sb-hc-id=trace-42', { 'X-Custom': 'yes' });
    expect(await handshake(ws)).toEqual({ opened: true });
    const echoed = nextMessage(ws);
    ws.send(Buffer.from('hello relay'));
    const { data, isBinary } = await echoed;
    expect(isBinary).toBe(true);
    expect(data.toString()).toBe('hello relay');

    const accept = accepted[0]!.accept;
    expect(accept.id).toBe('trace-42');
    expect(accept.address).toMatch(new RegExp(`^wss://${fx.host.replace(/\./g, '\\.')}/\\$hc/.*sb-hc-action=accept`));
    expect(accept.remoteEndpoint.address).toMatch(/127\.0\.0\.1/);
    expect(accept.remoteEndpoint.port).toBeGreaterThan(0);
    expect(accept.connectHeaders['X-Custom']).toBe('yes');
    // The sender's token never reaches the listener.
    expect(JSON.stringify(accepted)).not.toMatch(/SharedAccessSignature|ServiceBusAuthorization/i);
  });

  it('accepts the token in sb-hc-token as well', async () => {
    const control = track(await rawListener(fx));
    echoAll(fx, control);
    const ws = sender(undefined, fx.entry, `&sb-hc-token=${encodeURIComponent(fx.sendToken())}`);
    expect(await handshake(ws)).toEqual({ opened: true });
  });

  it('makes a rendezvous address one-use', async () => {
    const control = track(await rawListener(fx));
    const accepts: AcceptMessage[] = [];
    control.on('message', (d) => accepts.push(JSON.parse(d.toString()) as AcceptMessage));
    const ws = sender(fx.sendToken());
    const senderResult = handshake(ws);
    await until(() => accepts.length === 1, 5000, 'accept notification');
    const first = track(rawClient(fx, accepts[0]!.accept.address));
    expect(await handshake(first)).toEqual({ opened: true });
    expect(await senderResult).toEqual({ opened: true });
    const second = track(rawClient(fx, accepts[0]!.accept.address));
    expect(await handshake(second)).toMatchObject({ opened: false, status: 403 });
  });
});

describe('refused handshakes', () => {
  it('401 for a missing token', async () => {
    track(await rawListener(fx));
    const result = await handshake(sender(undefined));
    expect(result).toMatchObject({ opened: false, status: 401 });
    expect(result.opened === false && result.statusMessage).toMatch(/^MissingToken/);
  });

  it('401 for a malformed token', async () => {
    const result = await handshake(sender('Bearer abc'));
    expect(result).toMatchObject({ opened: false, status: 401 });
    expect(result.opened === false && result.statusMessage).toMatch(/^MalformedToken/);
  });

  it('401 for a tampered signature, without echoing the token', async () => {
    track(await rawListener(fx));
    const token = fx.sendToken();
    const tampered = token.replace(/sig=([^&])/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`);
    expect(tampered).not.toBe(token);
    const result = await handshake(sender(tampered));
    expect(result).toMatchObject({ opened: false, status: 401 });
    expect(result.opened === false && result.statusMessage).toMatch(/^InvalidSignature/);
    expect(result.opened === false && result.statusMessage).not.toContain('sig=');
  });

  it('401 for a token signed with the right key name but the wrong key', async () => {
    const forged = createSas({
      resourceUri: fx.directory.resourceUri(fx.entry),
      keyName: fx.entry.sendKeyName,
      key: 'not-the-key',
      expiry: nowSeconds() + 600,
    });
    expect(await handshake(sender(forged))).toMatchObject({ opened: false, status: 401 });
  });

  it('401 ExpiredToken for an expired token', async () => {
    track(await rawListener(fx));
    const result = await handshake(sender(fx.sendToken(fx.entry, nowSeconds() - 5)));
    expect(result).toMatchObject({ opened: false, status: 401 });
    expect(result.opened === false && result.statusMessage).toMatch(/^ExpiredToken: The token is expired/);
  });

  it('403 for a valid token of another hybrid connection; 404 for a path that does not exist', async () => {
    track(await rawListener(fx));
    const otherToken = fx.sendToken(fx.other);
    expect(await handshake(sender(otherToken))).toMatchObject({ opened: false, status: 403 });
    const missing = track(rawClient(fx, `wss://${fx.host}/$hc/no/such/hybrid-connection?sb-hc-action=connect`, { ServiceBusAuthorization: fx.sendToken() }));
    const result = await handshake(missing);
    expect(result).toMatchObject({ opened: false, status: 404 });
    expect(result.opened === false && result.statusMessage).toMatch(/^Endpoint does not exist\. TrackingId:/);
  });

  it('403 when a Listen-only SAS is used to send, and a Send SAS to listen', async () => {
    track(await rawListener(fx));
    const result = await handshake(sender(fx.listenToken()));
    expect(result).toMatchObject({ opened: false, status: 403 });
    expect(result.opened === false && result.statusMessage).toMatch(/'Send' claim/);
    const listen = track(rawClient(fx, fx.url(fx.entry, 'listen'), { ServiceBusAuthorization: fx.sendToken() }));
    expect(await handshake(listen)).toMatchObject({ opened: false, status: 403 });
  });

  it('404 "Endpoint does not exist" when no listener is online', async () => {
    const result = await handshake(sender(fx.sendToken()));
    expect(result).toMatchObject({ opened: false, status: 404 });
    expect(result.opened === false && result.statusMessage).toMatch(/^Endpoint does not exist/);
  });

  it('refuses the 26th listener of a hybrid connection', async () => {
    const listeners = await Promise.all(Array.from({ length: 25 }, () => rawListener(fx)));
    listeners.forEach(track);
    expect(fx.relay.listenerCount(fx.host, fx.entry.hybridConnectionName)).toBe(25);
    const extra = track(rawClient(fx, fx.url(fx.entry, 'listen'), { ServiceBusAuthorization: fx.listenToken() }));
    const result = await handshake(extra);
    expect(result).toMatchObject({ opened: false, status: 403 });
    expect(fx.relay.listenerCount(fx.host, fx.entry.hybridConnectionName)).toBe(25);
  });
});

describe('rejecting a sender', () => {
  it('gives the listener 410 and the sender the listener status and description', async () => {
    const control = track(await rawListener(fx));
    const listenerResults: Promise<unknown>[] = [];
    control.on('message', (d) => {
      const { accept } = JSON.parse(d.toString()) as AcceptMessage;
      const url = new URL(accept.address);
      url.searchParams.set('sb-hc-statusCode', '429');
      url.searchParams.set('sb-hc-statusDescription', 'Too busy right now');
      listenerResults.push(handshake(track(rawClient(fx, url.toString()))));
    });
    const result = await handshake(sender(fx.sendToken()));
    expect(result).toEqual({ opened: false, status: 429, statusMessage: 'Too busy right now' });
    expect(await listenerResults[0]).toMatchObject({ opened: false, status: 410 });
  });
});

describe('listener token lifetime', () => {
  // Expiries are whole seconds: "now + 1" can be a millisecond away, and a handshake on a loaded
  // machine then meets an expired token. "now + 3" leaves at least two seconds to open the channel.
  it('closes the control channel with 1008 when the token expires', async () => {
    const control = track(await rawListener(fx, fx.listenToken(fx.entry, nowSeconds() + 3)));
    const closed = await nextClose(control);
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/expired/i);
  });

  it('keeps a renewed channel open past the old expiry', async () => {
    const se = nowSeconds() + 3;
    const renewed = track(await rawListener(fx, fx.listenToken(fx.entry, se)));
    const unrenewed = track(await rawListener(fx, fx.listenToken(fx.entry, se)));
    renewed.send(JSON.stringify({ renewToken: { token: fx.listenToken(fx.entry, nowSeconds() + 3600) } }));
    let renewedClosed = false;
    renewed.once('close', () => (renewedClosed = true));
    expect((await nextClose(unrenewed)).code).toBe(1008);
    expect(Date.now()).toBeGreaterThanOrEqual((se - 1) * 1000);
    const pong = new Promise<void>((resolve) => renewed.once('pong', () => resolve()));
    renewed.ping();
    await pong;
    expect(renewedClosed).toBe(false);
    expect(fx.relay.listenerCount(fx.host, fx.entry.hybridConnectionName)).toBe(1);
  });

  it('closes the channel with 1008 when a renewal token is bad', async () => {
    const control = track(await rawListener(fx));
    control.send(JSON.stringify({ renewToken: { token: fx.sendToken(fx.other) } }));
    expect((await nextClose(control)).code).toBe(1008);
  });
});

describe('load spreading and close codes', () => {
  it('spreads connections over the online listeners', async () => {
    const controls = await Promise.all([rawListener(fx), rawListener(fx), rawListener(fx)]);
    const counts = controls.map((c) => {
      track(c);
      return echoAll(fx, c);
    });
    for (let i = 0; i < 30; i++) {
      const ws = sender(fx.sendToken(), fx.entry, `&sb-hc-id=spread-${i}`);
      expect(await handshake(ws)).toEqual({ opened: true });
      ws.terminate();
    }
    const perListener = counts.map((c) => c.length);
    expect(perListener.reduce((a, b) => a + b, 0)).toBe(30);
    for (const n of perListener) expect(n).toBeGreaterThan(0);
  });

  it('propagates 1000 from the listener to the sender, and 4xxx codes both ways', async () => {
    const control = track(await rawListener(fx));
    const rendezvous: WebSocket[] = [];
    control.on('message', (d) => {
      const { accept } = JSON.parse(d.toString()) as AcceptMessage;
      rendezvous.push(track(rawClient(fx, accept.address)));
    });
    const first = sender(fx.sendToken());
    expect(await handshake(first)).toEqual({ opened: true });
    await until(() => rendezvous[0]?.readyState === WebSocket.OPEN);
    const senderClosed = nextClose(first);
    rendezvous[0]!.close(1000, 'done');
    expect(await senderClosed).toEqual({ code: 1000, reason: 'done' });

    const second = sender(fx.sendToken());
    expect(await handshake(second)).toEqual({ opened: true });
    await until(() => rendezvous[1]?.readyState === WebSocket.OPEN);
    const listenerClosed = nextClose(rendezvous[1]!);
    second.close(4001, 'app code');
    expect(await listenerClosed).toEqual({ code: 4001, reason: 'app code' });
  });

  it('closes listeners and relayed connections with 1001 on shutdown', async () => {
    const own = await startRelayFixture();
    const control = track(await rawListener(own));
    echoAll(own, control);
    const ws = track(rawClient(own, own.url(own.entry, 'connect'), { ServiceBusAuthorization: own.sendToken() }));
    expect(await handshake(ws)).toEqual({ opened: true });
    const controlClosed = nextClose(control);
    const senderClosed = nextClose(ws);
    await own.relay.close();
    expect((await controlClosed).code).toBe(1001);
    expect((await senderClosed).code).toBe(1001);
  });
});

describe('faults', () => {
  it('expireTokensNow closes listeners with 1008 and refuses the old tokens, not new ones', async () => {
    // Its own relay: revoking every token seen must not leak into the other tests.
    const own = await startRelayFixture();
    try {
      const token = own.listenToken();
      const control = track(await rawListener(own, token));
      const closed = nextClose(control);
      own.relay.faults.expireTokensNow();
      expect((await closed).code).toBe(1008);
      const again = track(rawClient(own, own.url(own.entry, 'listen'), { ServiceBusAuthorization: token }));
      const result = await handshake(again);
      expect(result).toMatchObject({ opened: false, status: 401 });
      expect(result.opened === false && result.statusMessage).toMatch(/^ExpiredToken/);
      track(await rawListener(own, own.listenToken(own.entry, nowSeconds() + 7200)));
    } finally {
      await own.relay.close();
    }
  });

  it('dropAllConnections cuts control channels and relayed connections abruptly', async () => {
    const control = track(await rawListener(fx));
    echoAll(fx, control);
    const ws = sender(fx.sendToken());
    expect(await handshake(ws)).toEqual({ opened: true });
    const closes = Promise.all([nextClose(control), nextClose(ws)]);
    fx.relay.faults.dropAllConnections();
    const [c1, c2] = await closes;
    expect(c1.code).toBe(1006);
    expect(c2.code).toBe(1006);
  });
});

describe('delivery probe (the benchmark times watch events on their way to arcproxy)', () => {
  it('notes, per relayed connection, the first message towards the sender carrying the marker, and only while armed', async () => {
    const control = track(await rawListener(fx));
    echoAll(fx, control);
    const ws = sender(fx.sendToken(), fx.entry, '&sb-hc-id=probe-1');
    expect(await handshake(ws)).toEqual({ opened: true });
    const echo = async (text: string) => {
      const got = nextMessage(ws);
      ws.send(Buffer.from(text));
      await got;
      return process.hrtime.bigint();
    };
    await echo('before arming: pod-a');
    fx.relay.deliveryProbe.arm('pod-a');
    await echo('unrelated');
    const received = await echo('{"type":"ADDED","object":{"metadata":{"name":"pod-a"}}}');
    await echo('{"type":"DELETED","object":{"metadata":{"name":"pod-a"}}}');
    const times = fx.relay.deliveryProbe.collect();
    expect(times.fromListenerNs).toHaveLength(1);
    expect(times.toSenderNs).toHaveLength(1);
    expect(times.fromListenerNs[0]).toBeLessThanOrEqual(times.toSenderNs[0]!);
    expect(times.toSenderNs[0]).toBeLessThanOrEqual(Number(received));
    // Collected: unarmed again.
    await echo('pod-a once more');
    expect(fx.relay.deliveryProbe.collect()).toEqual({ fromListenerNs: [], toSenderNs: [] });
  });
});
