/**
 * Applies a cloud profile's host map and CA to outgoing TLS connections. The TLS server name and
 * certificate check keep the original host, so mapping only changes where the bytes go.
 */
import https from 'node:https';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { CloudProfile } from '../azure/cloud.js';

export interface Endpoint {
  host: string;
  port: number;
}

/** Looks a host up in the map: exact names first, then the longest matching "*.suffix". */
export function mapEndpoint(hostMap: Record<string, string> | undefined, host: string, port: number): Endpoint {
  if (!hostMap) return { host, port };
  const lower = host.toLowerCase();
  let target = hostMap[lower] ?? hostMap[host];
  if (target === undefined) {
    let best = -1;
    for (const [pattern, value] of Object.entries(hostMap)) {
      if (!pattern.startsWith('*.')) continue;
      const suffix = pattern.slice(1).toLowerCase(); // ".suffix"
      if (lower.endsWith(suffix) && lower.length > suffix.length && suffix.length > best) {
        best = suffix.length;
        target = value;
      }
    }
  }
  if (target === undefined) return { host, port };
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(target);
  if (!m) return { host, port };
  return { host: m[1]!, port: m[2] ? Number(m[2]) : port };
}

/** Root certificates to trust for a profile: Node's built-in roots plus the profile's CA. */
export function trustedCa(cloud: Pick<CloudProfile, 'ca'>): string[] | undefined {
  return cloud.ca ? [...tls.rootCertificates, cloud.ca] : undefined;
}

/** An https.Agent that applies the profile's host map and CA; keep-alive on. */
export class CloudAgent extends https.Agent {
  readonly #hostMap: Record<string, string> | undefined;

  constructor(cloud: Pick<CloudProfile, 'ca' | 'hostMap'>, options: https.AgentOptions = {}) {
    const ca = trustedCa(cloud);
    super({ keepAlive: true, ...options, ...(ca ? { ca } : {}) });
    this.#hostMap = cloud.hostMap;
  }

  override createConnection(options: tls.ConnectionOptions): Duplex {
    const host = options.host ?? 'localhost';
    return tls.connect({ ...options, ...tlsOptionsFor({ hostMap: this.#hostMap }, host, Number(options.port ?? 443)), ca: options.ca });
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/** TLS connect options for one connection (for `ws` and raw TLS), honouring map and CA. */
export function tlsOptionsFor(cloud: Pick<CloudProfile, 'ca' | 'hostMap'>, host: string, port: number): tls.ConnectionOptions {
  const target = mapEndpoint(cloud.hostMap, host, port);
  const ca = trustedCa(cloud);
  return {
    host: target.host,
    port: target.port,
    ...(isIp(host) ? {} : { servername: host }),
    checkServerIdentity: (_name, cert) => tls.checkServerIdentity(host, cert),
    ...(ca ? { ca } : {}),
  };
}
