/**
 * `arcproxy emulator --log`: one line per request at the apiserver and at the agent, written when
 * the request ends (a watch or an exec session when it closes):
 *   <time> <component> <identity> <method> <path?query> <status> <duration>ms
 * The identity is a user name, never a credential; query values that may carry one are redacted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { redactSecrets } from '../errors/redact.js';

export type LogSink = (line: string) => void;

/** Query keys whose values are never logged (SAS signatures, relay tokens, access tokens). */
const SECRET_KEY = /token|sig|secret|password|key|code|assertion/i;

/** The request target with credential-looking query values replaced. */
export function redactTarget(target: string): string {
  const q = target.indexOf('?');
  if (q < 0) return redactSecrets(target);
  const pairs = target
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = eq < 0 ? pair : pair.slice(0, eq);
      let name = key;
      try {
        name = decodeURIComponent(key.replace(/\+/g, ' '));
      } catch {
        // a malformed escape: judge the raw key
      }
      return eq >= 0 && SECRET_KEY.test(name) ? `${key}=[redacted]` : pair;
    });
  return redactSecrets(`${target.slice(0, q)}?${pairs.join('&')}`);
}

/** "HTTP/1.1 101 Switching Protocols" → 101: the status of an upgrade, from the first bytes written back. */
function statusOfHead(chunk: unknown): number | undefined {
  const text = Buffer.isBuffer(chunk) ? chunk.subarray(0, 16).toString('latin1') : typeof chunk === 'string' ? chunk.slice(0, 16) : '';
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return m ? Number(m[1]) : undefined;
}

export class RequestLog {
  readonly #sink: LogSink;
  readonly #component: string;
  readonly #now: () => number;

  constructor(sink: LogSink, component: string, now: () => number = Date.now) {
    this.#sink = sink;
    this.#component = component;
    this.#now = now;
  }

  #write(started: number, req: IncomingMessage, identity: string, status: number | string): void {
    const fields = [new Date(started).toISOString(), this.#component, identity || '-', req.method ?? '-', redactTarget(req.url ?? '/'), String(status)];
    this.#sink(`${fields.join(' ')} ${this.#now() - started}ms\n`);
  }

  /** Logs an ordinary request once its response has ended (status "-": the client left before any answer). */
  request(req: IncomingMessage, res: ServerResponse, identity: () => string): void {
    const started = this.#now();
    res.once('close', () => this.#write(started, req, identity(), res.headersSent ? res.statusCode : '-'));
  }

  /** Logs an upgrade once its socket has ended or closed, with the status the server answered first. */
  upgrade(req: IncomingMessage, socket: Duplex, identity: () => string): void {
    const started = this.#now();
    let status: number | undefined;
    let sniffed = false;
    // The first bytes written back are the answer's status line; later writes are not looked at.
    const sniff = (chunk: unknown): void => {
      if (sniffed || typeof chunk === 'function' || chunk === undefined) return;
      sniffed = true;
      status = statusOfHead(chunk);
    };
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.write = ((...args: unknown[]) => {
      sniff(args[0]);
      return write(...args);
    }) as typeof socket.write;
    const end = socket.end.bind(socket) as (...args: unknown[]) => Duplex;
    socket.end = ((...args: unknown[]) => {
      sniff(args[0]);
      return end(...args);
    }) as typeof socket.end;
    // A relay stream may stay half-open after the server side has ended: its 'finish' is the end too.
    let logged = false;
    const done = () => {
      if (logged) return;
      logged = true;
      this.#write(started, req, identity(), status ?? '-');
    };
    socket.once('finish', done).once('close', done);
  }
}
