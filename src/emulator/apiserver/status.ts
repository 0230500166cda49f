/** Kubernetes `Status` bodies, shaped as the real apiserver sends them (src/net/k8s-status.ts). */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { sendStatusResponse, writeRawStatusResponse, type StatusDetails } from '../../net/k8s-status.js';

export { statusObject, type StatusDetails } from '../../net/k8s-status.js';

/** As the real apiserver on every response (and this one's http.ts). */
const CACHE_CONTROL = { 'cache-control': 'no-cache, private' } as const;

export function sendStatus(res: ServerResponse, code: number, reason: string, message: string, details?: StatusDetails): void {
  sendStatusResponse(res, { code, reason, message, details }, { headers: CACHE_CONTROL, lowerCaseNames: true });
}

/** For upgrade requests, where there is no ServerResponse: a raw HTTP response, then close. */
export function writeRawStatus(socket: Duplex, code: number, reason: string, message: string, details?: StatusDetails): void {
  writeRawStatusResponse(socket, { code, reason, message, details });
}
