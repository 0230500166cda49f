/**
 * Forwards one ordinary (non-upgrade) request to the apiserver. Bodies are piped both ways, so
 * backpressure holds end to end and a watch or `logs -f` chunk reaches the client as soon as the
 * apiserver writes it. A client that goes away aborts the upstream request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'node:https';
import type { Authenticator } from './entra-auth.js';
import { endToEndHeaders, upstreamRequestHeaders } from './headers.js';
import { sendStatus } from './status.js';
import type { Upstream } from './upstream.js';

export function createRequestForwarder(upstream: Upstream, authenticate: Authenticator) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    authenticate(req.headers).then(
      (auth) => {
        if (auth.mode === 'rejected') {
          // The unread body is discarded by node:http, so the connection stays usable.
          sendStatus(res, auth.status);
          return;
        }
        forward(req, res, upstream, upstreamRequestHeaders(req.rawHeaders, auth, upstream.token, upstream.host, false));
      },
      () => {
        sendStatus(res, { code: 401, reason: 'Unauthorized', message: 'Unauthorized: the token could not be checked.' });
      },
    );
  };
}

function forward(req: IncomingMessage, res: ServerResponse, upstream: Upstream, headers: ReturnType<typeof upstreamRequestHeaders>, retried = false): void {
  if (res.destroyed) return; // the client left while the token was being checked

  const upstreamReq = request({
    agent: upstream.agent,
    host: upstream.hostname,
    port: upstream.port,
    method: req.method,
    path: upstream.path(req.url),
    headers,
  });

  upstreamReq.on('response', (upstreamRes) => {
    res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, endToEndHeaders(upstreamRes.rawHeaders));
    // A watch may say nothing for minutes; the client should see the headers now.
    res.flushHeaders();
    upstreamRes.pipe(res);
    upstreamRes.on('error', () => res.destroy());
    // An upstream cut mid-body must reach the client as a cut, not as a complete response.
    upstreamRes.on('close', () => {
      if (!upstreamRes.complete) res.destroy();
    });
  });

  upstreamReq.on('error', (err: NodeJS.ErrnoException) => {
    // A kept-alive connection the apiserver closed as this request went out (its idle timeout):
    // Go's transport, which the real agent uses, sends a bodiless request again on a new one.
    if (!retried && !res.headersSent && upstreamReq.reusedSocket && err.code === 'ECONNRESET' && hasNoBody(req)) {
      forward(req, res, upstream, headers, true);
      return;
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // The request body may be half read: close the connection rather than reuse it.
    sendStatus(
      res,
      {
        code: 502,
        reason: 'ServiceUnavailable',
        message: `The cluster agent could not reach the Kubernetes apiserver (${err.code ?? err.message}).`,
      },
      true,
    );
  });

  res.on('close', () => {
    if (!res.writableFinished) upstreamReq.destroy();
  });

  if (hasNoBody(req)) {
    upstreamReq.end();
    return;
  }
  req.pipe(upstreamReq);
  req.on('error', () => upstreamReq.destroy());
}

/** A GET or HEAD without a body: safe to send again, and nothing to pipe. */
function hasNoBody(req: IncomingMessage): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] ?? '0') === '0';
}
