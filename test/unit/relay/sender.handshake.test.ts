/** connectToRelay tells the relay's answer to its handshake when asked (what `arcproxy diagnose` shows). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToRelay, type HandshakeAnswer, type RelayConnectOptions } from '../../../src/relay/sender.js';
import { echoAll, rawListener, startRelayFixture, type RelayFixture } from '../emulator/relay/relay-fixture.js';

let fx: RelayFixture;

beforeAll(async () => {
  fx = await startRelayFixture();
});
afterAll(async () => {
  await fx.relay.close();
});

function options(onHandshake: (a: HandshakeAnswer) => void): RelayConnectOptions {
  return { relayHost: fx.host, hybridConnectionName: fx.entry.hybridConnectionName, token: fx.sendToken(), cloud: fx.cloud, onHandshake };
}

describe('connectToRelay onHandshake', () => {
  it("tells a refusal's status line and headers", async () => {
    const answers: HandshakeAnswer[] = [];
    await expect(connectToRelay(options((a) => answers.push(a)))).rejects.toMatchObject({ code: 'ARCPROXY_RELAY_NO_LISTENER' });
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ status: 404, statusMessage: expect.stringMatching(/Endpoint does not exist/) });
    expect(answers[0]!.rawHeaders.length % 2).toBe(0);
  });

  it('tells the 101 of an accepted connection, with its headers', async () => {
    const control = await rawListener(fx);
    control.on('error', () => undefined);
    void echoAll(fx, control);
    const answers: HandshakeAnswer[] = [];
    const conn = await connectToRelay(options((a) => answers.push(a)));
    try {
      expect(answers).toEqual([{ status: 101, statusMessage: 'Switching Protocols', rawHeaders: expect.arrayContaining(['Upgrade', 'websocket']) }]);
    } finally {
      conn.close();
      control.terminate();
    }
  });
});
