/**
 * Relays a line-oriented streaming body (a JSON watch, a followed log) and, when the stream under
 * it is cut, sends the request again from where the client is and carries on in the same
 * response. What a line is, where to resume from and how to end are the body's business
 * (watch-resume.ts, log-resume.ts); this is the loop: whole lines only (a cut never leaves half a
 * line in front of the resumed ones), backoff and an outage budget (resume-budget.ts), a refusal
 * or a spent budget ended the way the body says, and nothing left running once the client goes.
 */
import type { ServerResponse } from 'node:http';
import { errorCodeOf } from '../errors/index.js';
import { ResumeBudget } from './resume-budget.js';
import type { UpstreamResponse } from './upstream-response.js';

/** Largest line held while waiting for its newline; a bigger one cuts the response. */
const MAX_LINE_BYTES = 16 * 1024 * 1024;
/** A resumed request that gets no answer head in this long counts as a failed try. */
const ANSWER_TIMEOUT_MS = 15_000;
/** How much of a refusal's body is read (a Status is a few hundred bytes). */
const MAX_REFUSAL_BYTES = 64 * 1024;

export interface ResumableBody {
  /** Whole lines from upstream (the last may lack its newline at a clean end): what the client gets. */
  lines(chunk: Buffer): Buffer;
  /** The request again from where the client is, or undefined when it cannot be resumed. */
  resumePath(): string | undefined;
  /** A resume was refused for good (not 200, not 429 or 5xx): bytes that end the response cleanly, or undefined to cut it. */
  refused(statusCode: number, body: Buffer): Buffer | undefined;
  /** The outage outlasted the budget: bytes that end the response cleanly, or undefined to cut it. */
  gaveUp(): Buffer | undefined;
}

export interface ResumableRelayOptions {
  body: ResumableBody;
  /** Sends the request for `path` on a fresh stream; resolves with its response (body paused). */
  reopen: (path: string) => Promise<UpstreamResponse>;
  onBytes?: (n: number) => void;
  budget?: ResumeBudget;
  answerTimeoutMs?: number;
}

/** Relays `first`'s body into `res` (headers already written), resuming it when it is cut. */
export function relayResumable(first: UpstreamResponse, res: ServerResponse, opts: ResumableRelayOptions): void {
  const { body } = opts;
  const budget = opts.budget ?? new ResumeBudget();
  let timer: NodeJS.Timeout | undefined;
  /** The response being relayed: dropped (with its stream) when the client goes. */
  let current = first;
  res.once('close', () => {
    clearTimeout(timer);
    current.destroy();
  });

  const finish = (last: Buffer | undefined): void => {
    if (res.destroyed) return;
    if (last === undefined) {
      res.destroy();
      return;
    }
    res.end(last);
  };

  const attach = (up: UpstreamResponse): void => {
    current = up;
    let partial: Buffer[] = [];
    let partialBytes = 0;
    const resumeUp = (): void => up.resume();
    const write = (bytes: Buffer): void => {
      if (res.destroyed || bytes.length === 0) return;
      if (!res.write(bytes)) {
        up.pause();
        res.once('drain', resumeUp);
      }
    };
    up.on('data', (chunk: Buffer) => {
      opts.onBytes?.(chunk.length);
      const nl = chunk.lastIndexOf(0x0a);
      if (nl === -1) {
        partial.push(chunk);
        partialBytes += chunk.length;
        // Too big to hold: it cannot be resumed cleanly, so it is not relayed at all.
        if (partialBytes > MAX_LINE_BYTES) up.destroy();
        return;
      }
      const complete = partialBytes > 0 ? Buffer.concat([...partial, chunk.subarray(0, nl + 1)]) : chunk.subarray(0, nl + 1);
      const rest = chunk.subarray(nl + 1);
      partial = rest.length > 0 ? [rest] : [];
      partialBytes = rest.length;
      budget.progress();
      write(body.lines(complete));
    });
    up.on('end', () => {
      if (partialBytes > 0) write(body.lines(Buffer.concat(partial, partialBytes)));
      if (!res.destroyed) res.end();
    });
    up.on('close', () => {
      res.off('drain', resumeUp);
      if (up.complete || res.destroyed) return;
      if (partialBytes > MAX_LINE_BYTES) res.destroy();
      else lost();
    });
    up.resume();
  };

  /** The stream is gone or a try failed: try again after the budget's delay, or give up. */
  const lost = (): void => {
    if (res.destroyed) return;
    if (body.resumePath() === undefined) {
      res.destroy();
      return;
    }
    const delay = budget.down();
    if (delay === undefined) {
      finish(body.gaveUp());
      return;
    }
    timer = setTimeout(tryOnce, delay);
  };

  const tryOnce = (): void => {
    const path = body.resumePath();
    if (res.destroyed || path === undefined) return;
    answerWithin(opts.reopen(path), opts.answerTimeoutMs ?? ANSWER_TIMEOUT_MS).then(
      (next) => {
        if (res.destroyed) {
          next.destroy();
        } else if (next.statusCode === 200) {
          budget.up();
          attach(next);
        } else if (next.statusCode === 429 || next.statusCode >= 500) {
          // The agent or the apiserver behind it is not ready yet: part of the outage.
          next.destroy();
          lost();
        } else {
          void readSome(next).then((refusal) => finish(body.refused(next.statusCode, refusal)));
        }
      },
      (err: unknown) => {
        // arcproxy is stopping: no stream will come, and the client is told at once.
        if (errorCodeOf(err) === 'ARCPROXY_SHUTTING_DOWN') res.destroy();
        else lost();
      },
    );
  };

  attach(first);
}

/** The response, or a rejection once `ms` pass without one (a late one is dropped). */
function answerWithin(answer: Promise<UpstreamResponse>, ms: number): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new Error('no answer to the resumed request'));
    }, ms);
    answer.then(
      (r) => {
        clearTimeout(timer);
        if (late) r.destroy();
        else resolve(r);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (!late) reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** The first MAX_REFUSAL_BYTES of a (short) refusal body. */
function readSome(up: UpstreamResponse): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let bytes = 0;
    up.on('data', (chunk: Buffer) => {
      parts.push(chunk);
      bytes += chunk.length;
      if (bytes >= MAX_REFUSAL_BYTES) up.destroy();
    });
    up.on('close', () => resolve(Buffer.concat(parts).subarray(0, MAX_REFUSAL_BYTES)));
    up.resume();
  });
}
