/**
 * Cloud profiles: everything that differs between Azure's public cloud, its sovereign clouds and
 * the emulator. arcproxy runs the same code against each; only this profile changes.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors/index.js';
import type { CloudProfile } from '../net/cloud-profile.js';

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

function requireString(obj: Record<string, unknown>, key: string, file: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v.length === 0) {
    throw new UsageError(`Cloud profile ${file} is missing "${key}" (a non-empty string).`, 'ARCPROXY_BAD_CLOUD_PROFILE');
  }
  return v;
}

/** Parses a cloud profile document (JSON text). `source` names it in error messages. */
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
  const profile: CloudProfile = {
    name: typeof obj.name === 'string' ? obj.name : source,
    resourceManagerEndpoint: requireString(obj, 'resourceManagerEndpoint', source).replace(/\/+$/, ''),
    resourceManagerAudience: requireString(obj, 'resourceManagerAudience', source),
    authorityHost: requireString(obj, 'authorityHost', source).replace(/\/+$/, ''),
    relaySuffix: requireString(obj, 'relaySuffix', source),
  };
  if (obj.hostMap !== undefined) {
    if (!obj.hostMap || typeof obj.hostMap !== 'object' || Object.values(obj.hostMap).some((v) => typeof v !== 'string')) {
      throw new UsageError(`Cloud profile ${source}: "hostMap" must map host names to "address:port" strings.`, 'ARCPROXY_BAD_CLOUD_PROFILE');
    }
    profile.hostMap = obj.hostMap as Record<string, string>;
  }
  if (typeof obj.ca === 'string') profile.ca = obj.ca;
  if (typeof obj.disableInstanceDiscovery === 'boolean') profile.disableInstanceDiscovery = obj.disableInstanceDiscovery;
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
