/**
 * The apiserver as the agent reaches it: one keep-alive HTTPS agent for ordinary requests and
 * raw TLS connections for upgrades, both trusting only the apiserver's CA.
 */
import { Agent } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';

export interface ApiserverTarget {
  url: string;
  ca: string;
  token: string;
}

export class Upstream {
  readonly hostname: string;
  readonly port: number;
  /** Host header value for the apiserver. */
  readonly host: string;
  readonly token: string;
  readonly agent: Agent;
  readonly #basePath: string;
  readonly #ca: string;

  constructor(target: ApiserverTarget) {
    const url = new URL(target.url);
    if (url.protocol !== 'https:') throw new TypeError(`apiserver url must be https:, got ${url.protocol}`);
    this.hostname = url.hostname.replace(/^\[|\]$/g, '');
    this.port = url.port === '' ? 443 : Number(url.port);
    this.host = url.host;
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.#ca = target.ca;
    this.token = target.token;
    this.agent = new Agent({ keepAlive: true, ca: target.ca });
  }

  /** The request target on the apiserver (a base path in the URL is kept in front). */
  path(requestUrl: string | undefined): string {
    const p = requestUrl && requestUrl.startsWith('/') ? requestUrl : `/${requestUrl ?? ''}`;
    return this.#basePath + p;
  }

  /** A TLS connection for an upgrade; HTTP/1.1 only, since exec/SPDY cannot ride HTTP/2. */
  connect(): TLSSocket {
    const servername = this.#servername();
    return connect({
      host: this.hostname,
      port: this.port,
      ca: this.#ca,
      ALPNProtocols: ['http/1.1'],
      ...(servername === undefined ? {} : { servername }),
    });
  }

  close(): void {
    this.agent.destroy();
  }

  /** SNI must not be an IP address. */
  #servername(): string | undefined {
    return /^[\d.]+$|:/.test(this.hostname) ? undefined : this.hostname;
  }
}
