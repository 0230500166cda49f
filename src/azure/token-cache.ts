/**
 * arcproxy's own persisted sign-in cache: after a device-code sign-in, the refresh token and the
 * account it belongs to, so the next run does not ask again. One JSON file (default
 * `$XDG_CACHE_HOME/arcproxy/token-cache.json`, else `~/.cache/arcproxy/token-cache.json`;
 * `%LOCALAPPDATA%\arcproxy\` on Windows), mode 0600 in a 0700 directory, written whole to a
 * temporary file and renamed over the old one. Entries are keyed by authority host, tenant and
 * client id; nothing else is kept (no access tokens). `ARCPROXY_TOKEN_CACHE=off` turns it off,
 * a path moves it. A file that cannot be read or parsed is reported and ignored, never fatal.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';

/** What a cached sign-in holds: enough to redeem it again and to say whose it is. */
export interface CachedSignIn {
  /** Secret. Never logged. */
  refreshToken: string;
  /** The signed-in user (preferred_username of the ID token), for messages. */
  username?: string;
  /** MSAL's home account id (`uid.utid`), when Entra sent client_info. */
  homeAccountId?: string;
}

interface CacheFile {
  version: 1;
  signIns: Record<string, CachedSignIn & { savedAt: string }>;
}

const FILE_NAME = 'token-cache.json';

/** Where the cache lives, or undefined when ARCPROXY_TOKEN_CACHE turns it off. */
export function tokenCachePath(env: NodeJS.ProcessEnv, homeDir: string, platform: NodeJS.Platform = process.platform): string | undefined {
  const setting = env.ARCPROXY_TOKEN_CACHE?.trim();
  if (setting && ['off', '0', 'false', 'no'].includes(setting.toLowerCase())) return undefined;
  if (setting) return setting;
  if (platform === 'win32' && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, 'arcproxy', FILE_NAME);
  // XDG: a relative XDG_CACHE_HOME is invalid and ignored. No home, no cache (never the working directory).
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return join(env.XDG_CACHE_HOME, 'arcproxy', FILE_NAME);
  return homeDir && isAbsolute(homeDir) ? join(homeDir, '.cache', 'arcproxy', FILE_NAME) : undefined;
}

/** The key of one sign-in: who issued it (authority host and tenant) and to which client. */
export function signInKey(authorityHost: string, tenantId: string, clientId: string): string {
  return `${new URL(authorityHost).host.toLowerCase()}|${tenantId.toLowerCase()}|${clientId.toLowerCase()}`;
}

export class TokenCacheFile {
  readonly path: string;
  readonly #warn: (message: string) => void;
  #warned = false;

  constructor(path: string, warn: (message: string) => void) {
    this.path = path;
    this.#warn = warn;
  }

  async get(key: string): Promise<CachedSignIn | undefined> {
    const entry = (await this.#read()).signIns[key];
    if (!entry || typeof entry.refreshToken !== 'string' || entry.refreshToken === '') return undefined;
    return {
      refreshToken: entry.refreshToken,
      ...(typeof entry.username === 'string' ? { username: entry.username } : {}),
      ...(typeof entry.homeAccountId === 'string' ? { homeAccountId: entry.homeAccountId } : {}),
    };
  }

  /** Saves (or, with undefined, removes) one sign-in; the other entries stay. Failures are reported, not thrown. */
  async set(key: string, signIn: CachedSignIn | undefined): Promise<void> {
    const file = await this.#read();
    if (signIn) file.signIns[key] = { ...signIn, savedAt: new Date().toISOString() };
    else if (key in file.signIns) delete file.signIns[key];
    else return;
    try {
      await this.#write(file);
    } catch (err) {
      this.#warnOnce(`could not save the sign-in to arcproxy's token cache ${this.path} (${codeOf(err)}); the next run will ask again.`);
    }
  }

  async #read(): Promise<CacheFile> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.#warnOnce(`arcproxy's token cache ${this.path} could not be read (${codeOf(err)}); ignoring it.`);
      return empty();
    }
    try {
      const parsed = JSON.parse(text) as Partial<CacheFile>;
      if (parsed.version !== 1 || typeof parsed.signIns !== 'object' || parsed.signIns === null || Array.isArray(parsed.signIns)) throw new Error('shape');
      return { version: 1, signIns: { ...parsed.signIns } };
    } catch {
      this.#warnOnce(`arcproxy's token cache ${this.path} is not a cache file arcproxy wrote; ignoring it (the next sign-in replaces it).`);
      return empty();
    }
  }

  async #write(file: CacheFile): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const temp = `${this.path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      // Created 0600 and exclusively: the secret is never readable by others, not even briefly.
      await writeFile(temp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      await rename(temp, this.path);
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  #warnOnce(message: string): void {
    if (this.#warned) return;
    this.#warned = true;
    this.#warn(message);
  }
}

function empty(): CacheFile {
  return { version: 1, signIns: {} };
}

function codeOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : 'error';
}
