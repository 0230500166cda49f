/**
 * Cloud profiles: everything that differs between Azure's public cloud, its sovereign clouds and
 * the emulator. arcproxy runs the same code against each; only this profile changes.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors/index.js';
import type { CloudProfile } from '../net/cloud-profile.js';
import { parseHostMapTarget } from '../net/endpoints.js';

/** The Entra application that Arc's in-cluster proxy accepts tokens for (Cluster Connect, AAD mode). */
export const ARC_SERVER_APP_ID = '6256c85f-0aad-4d50-b960-e6e9b21efe35';

export const BUILTIN_CLOUDS: Record<string, CloudProfile> = {
  AzureCloud: {
    name: 'AzureCloud',
    resourceManagerEndpoint: 'https://management.azure.com',
    resourceManagerAudience: 'https://management.core.windows.net/',
    authorityHost: 'https://login.microsoftonline.com',
    relaySuffix: 'servicebus.windows.net',
  },
  AzureUSGovernment: {
    name: 'AzureUSGovernment',
    resourceManagerEndpoint: 'https://management.usgovcloudapi.net',
    resourceManagerAudience: 'https://management.core.usgovcloudapi.net/',
    authorityHost: 'https://login.microsoftonline.us',
    relaySuffix: 'servicebus.usgovcloudapi.net',
  },
  AzureChinaCloud: {
    name: 'AzureChinaCloud',
    resourceManagerEndpoint: 'https://management.chinacloudapi.cn',
    resourceManagerAudience: 'https://management.core.chinacloudapi.cn/',
    authorityHost: 'https://login.chinacloudapi.cn',
    relaySuffix: 'servicebus.chinacloudapi.cn',
  },
};

export function armScope(cloud: CloudProfile): string {
  return `${cloud.resourceManagerAudience.replace(/\/+$/, '')}/.default`;
}

export const ARC_SERVER_SCOPE = `${ARC_SERVER_APP_ID}/.default`;

function profileError(source: string, field: string, what: string): UsageError {
  return new UsageError(`Cloud profile ${source}: "${field}" ${what}`, 'ARCPROXY_BAD_CLOUD_PROFILE');
}

function requireString(obj: Record<string, unknown>, key: string, file: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v.length === 0) {
    throw new UsageError(`Cloud profile ${file} is missing "${key}" (a non-empty string).`, 'ARCPROXY_BAD_CLOUD_PROFILE');
  }
  return v;
}

/** An endpoint arcproxy sends credentials to: an absolute https URL, nothing else. */
function requireHttpsUrl(obj: Record<string, unknown>, key: string, source: string): string {
  const text = requireString(obj, key, source);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw profileError(source, key, `is not a URL (expected e.g. https://login.example.com).`);
  }
  if (url.protocol !== 'https:') throw profileError(source, key, `must be an https:// URL (tokens are sent there), not ${url.protocol}//.`);
  if (url.username || url.password || url.search || url.hash)
    throw profileError(source, key, 'must be a plain https:// URL without credentials, query or fragment.');
  return text.replace(/\/+$/, '');
}

const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const HOST_PATTERN = /^(?:\*\.)?[A-Za-z0-9.-]+$/;

function checkHostMap(value: unknown, source: string): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw profileError(source, 'hostMap', 'must map host names to "address:port" strings.');
  for (const [host, target] of Object.entries(value)) {
    if (!HOST_PATTERN.test(host)) throw profileError(source, `hostMap.${host}`, 'is not a host name or "*.suffix".');
    if (typeof target !== 'string' || !parseHostMapTarget(target)) {
      throw profileError(source, `hostMap.${host}`, 'must be "address:port" (a port from 1 to 65535), "address" or "[v6 address]:port".');
    }
  }
  return value as Record<string, string>;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** `ca` must be PEM certificates, each one parseable; anything else would fail only at the first TLS connection. */
function checkCa(value: unknown, source: string): string {
  if (typeof value !== 'string') throw profileError(source, 'ca', 'must be a string of PEM certificates.');
  const blocks = value.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw profileError(source, 'ca', 'holds no PEM certificate (-----BEGIN CERTIFICATE-----).');
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch {
      throw profileError(source, 'ca', 'holds a PEM certificate that cannot be parsed.');
    }
  }
  return value;
}

/**
 * Parses a cloud profile document (JSON text) and checks every field it can before anything is
 * written or sent: a bad profile is exit 2 at load, naming the field. `source` names it in messages.
 */
function parseCloudProfile(text: string, source: string): CloudProfile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`Cloud profile ${source} is not valid JSON: ${(err as Error).message}`, 'ARCPROXY_BAD_CLOUD_PROFILE');
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UsageError(`Cloud profile ${source} must be a JSON object.`, 'ARCPROXY_BAD_CLOUD_PROFILE');
  }
  const obj = raw as Record<string, unknown>;
  if (obj.name !== undefined && typeof obj.name !== 'string') throw profileError(source, 'name', 'must be a string.');
  const relaySuffix = requireString(obj, 'relaySuffix', source);
  if (!DNS_NAME.test(relaySuffix)) throw profileError(source, 'relaySuffix', 'must be a DNS name such as servicebus.windows.net (no scheme, port or path).');
  const profile: CloudProfile = {
    name: typeof obj.name === 'string' ? obj.name : source,
    resourceManagerEndpoint: requireHttpsUrl(obj, 'resourceManagerEndpoint', source),
    resourceManagerAudience: requireString(obj, 'resourceManagerAudience', source),
    authorityHost: requireHttpsUrl(obj, 'authorityHost', source),
    relaySuffix,
  };
  if (obj.hostMap !== undefined) profile.hostMap = checkHostMap(obj.hostMap, source);
  if (obj.ca !== undefined) profile.ca = checkCa(obj.ca, source);
  if (obj.disableInstanceDiscovery !== undefined) {
    if (typeof obj.disableInstanceDiscovery !== 'boolean') throw profileError(source, 'disableInstanceDiscovery', 'must be true or false.');
    profile.disableInstanceDiscovery = obj.disableInstanceDiscovery;
  }
  return profile;
}

/** `--cloud` / ARCPROXY_CLOUD: a built-in cloud name (case-insensitive) or a profile file path. */
export function loadCloudProfile(nameOrPath: string | undefined): CloudProfile {
  if (!nameOrPath) return BUILTIN_CLOUDS.AzureCloud!;
  const builtin = Object.values(BUILTIN_CLOUDS).find((c) => c.name.toLowerCase() === nameOrPath.toLowerCase());
  if (builtin) return builtin;
  let text: string;
  try {
    text = readFileSync(nameOrPath, 'utf8');
  } catch (err) {
    const names = Object.keys(BUILTIN_CLOUDS).join(', ');
    throw new UsageError(
      `Unknown cloud "${nameOrPath}": not one of ${names}, and not a readable cloud profile file (${(err as NodeJS.ErrnoException).code ?? 'error'}).`,
      'ARCPROXY_BAD_CLOUD_PROFILE',
    );
  }
  return parseCloudProfile(text, nameOrPath);
}
