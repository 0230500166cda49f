/**
 * Applies a cloud profile's host map and CA to outgoing TLS connections. The TLS server name and
 * certificate check keep the original host, so mapping only changes where the bytes go.
 */
import https from 'node:https';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { CloudProfile } from './cloud-profile.js';

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
  const parsed = parseHostMapTarget(target);
  if (!parsed) return { host, port };
  return { host: parsed.host, port: parsed.port ?? port };
}

/**
 * A host map value: "address", "address:port" or "[v6]:port". Undefined when it is none of
 * those (a URL, a path, a port out of range); cloud profiles are refused at load for that.
 */
export function parseHostMapTarget(target: string): { host: string; port: number | undefined } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:/[\]@?#]+))(?::(\d{1,5}))?$/.exec(target);
  if (!m) return undefined;
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { host: (m[1] ?? m[2])!, port };
}

/** Root certificates to trust for a profile: Node's built-in roots plus the profile's CA. */
function trustedCa(cloud: Pick<CloudProfile, 'ca'>): string[] | undefined {
  return cloud.ca ? [...tls.rootCertificates, cloud.ca] : undefined;
}

const contexts = new Map<string, tls.SecureContext>();

type NativeContext = { addCACert?: (pem: string) => void };

/**
 * Node's built-in roots plus one CA. Adding the CA to a default context copies Node's already
 * parsed root store natively (about 1 ms); `ca: [...rootCertificates, ca]` parses ~140 PEM roots
 * again (about 25 ms of launch). `context.addCACert` is the native method Node's own `ca` option
 * calls; where it is missing, the `ca` list is the fallback.
 */
function createContextWithCa(cloud: Pick<CloudProfile, 'ca'> & { ca: string }): tls.SecureContext {
  const context = tls.createSecureContext();
  const native = (context as unknown as { context?: NativeContext }).context;
  if (typeof native?.addCACert !== 'function') return tls.createSecureContext({ ca: trustedCa(cloud) });
  native.addCACert(cloud.ca);
  return context;
}

/**
 * One TLS context per extra CA, built once: passing `ca` to every tls.connect makes Node parse
 * all ~140 built-in roots again for each connection (about 20 ms of CPU and 1 MB each, measured in
 * `npm run bench`), which every relay connection would pay.
 */
export function secureContextFor(cloud: Pick<CloudProfile, 'ca'>): tls.SecureContext | undefined {
  if (!cloud.ca) return undefined;
  let context = contexts.get(cloud.ca);
  if (!context) {
    context = createContextWithCa({ ca: cloud.ca });
    contexts.set(cloud.ca, context);
  }
  return context;
}

/** An https.Agent that applies the profile's host map and CA; keep-alive on. */
export class CloudAgent extends https.Agent {
  readonly #hostMap: Record<string, string> | undefined;

  readonly #ca: string | undefined;

  constructor(cloud: Pick<CloudProfile, 'ca' | 'hostMap'>, options: https.AgentOptions = {}) {
    super({ keepAlive: true, ...options });
    this.#hostMap = cloud.hostMap;
    this.#ca = cloud.ca;
  }

  override createConnection(options: tls.ConnectionOptions): Duplex {
    const host = options.host ?? 'localhost';
    return tls.connect({ ...options, ...tlsOptionsFor({ hostMap: this.#hostMap, ...(this.#ca ? { ca: this.#ca } : {}) }, host, Number(options.port ?? 443)) });
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/** TLS connect options for one connection (for `ws` and raw TLS), honouring map and CA. */
export function tlsOptionsFor(cloud: Pick<CloudProfile, 'ca' | 'hostMap'>, host: string, port: number): tls.ConnectionOptions {
  const target = mapEndpoint(cloud.hostMap, host, port);
  const secureContext = secureContextFor(cloud);
  return {
    host: target.host,
    port: target.port,
    ...(isIp(host) ? {} : { servername: host }),
    checkServerIdentity: (_name, cert) => tls.checkServerIdentity(host, cert),
    ...(secureContext ? { secureContext } : {}),
  };
}
