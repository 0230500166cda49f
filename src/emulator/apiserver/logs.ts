/**
 * pods/log: the pod's generated log if it has one (streamed with backpressure), then its bounded
 * history of written lines (tailLines, sinceTime/sinceSeconds and limitBytes apply to the two as
 * one log; timestamps), then, with follow=true, each new line as it is written, until the client
 * goes, the pod stops, limitBytes is reached or the server ends the response.
 *
 * As a real cluster: timestamps are RFC3339Nano with all nine digits (the kubelet's
 * RFC3339NanoFixed); sinceTime reaches the kubelet to the second (the apiserver formats it with
 * RFC3339) and includes that second.
 */
import type { ServerResponse } from 'node:http';
import type { EmulatedPod, LogLine } from './pod-runtime.js';
import { sendStatus } from './status.js';
import { startStream } from './http.js';
import { LOG_INTS, queryBool, queryInts } from './query.js';
import { generatedLineCount, generatedLogChunks } from './generated-log.js';
import { LogOutput } from './log-output.js';

/** ValidatePodLogOptions' order; the first broken rule is reported. */
const LIMIT_RULES = [
  { name: 'tailLines', min: 0, rule: 'must be greater than or equal to 0' },
  { name: 'limitBytes', min: 1, rule: 'must be greater than 0' },
  { name: 'sinceSeconds', min: 1, rule: 'must be greater than 0' },
] as const;

type LogLimits = Partial<Record<(typeof LOG_INTS)[number], number>>;

/**
 * The integers of PodLogOptions as the apiserver decodes them (not an integer: QueryError, a 400),
 * then validates them (out of range: 422 Invalid, sent here; undefined is returned).
 */
function readLimits(res: ServerResponse, query: URLSearchParams, podName: string): LogLimits | undefined {
  const limits: LogLimits = queryInts(query, LOG_INTS);
  for (const { name, min, rule } of LIMIT_RULES) {
    const value = limits[name];
    if (value !== undefined && value < min) {
      sendStatus(res, 422, 'Invalid', `PodLogOptions "${podName}" is invalid: ${name}: Invalid value: ${value}: ${rule}`, {
        name: podName,
        kind: 'PodLogOptions',
      });
      return undefined;
    }
  }
  return limits;
}

/** A time as the kubelet writes it in front of a line: RFC3339Nano with nine digits. */
export function logTimestamp(time: Date): string {
  return time.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/** Go's time.Parse(time.RFC3339): a fraction is accepted though the layout has none. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * The earliest time a line may have (sinceTime, cut to the second; or sinceSeconds before now), 0
 * without either; undefined once a refusal has been sent.
 */
function readSince(res: ServerResponse, query: URLSearchParams, podName: string, sinceSeconds: number | undefined, now: number): number | undefined {
  const sinceTime = query.get('sinceTime');
  if (sinceTime && sinceSeconds !== undefined) {
    sendStatus(res, 422, 'Invalid', `PodLogOptions "${podName}" is invalid: []: Forbidden: at most one of \`sinceTime\` or \`sinceSeconds\` may be specified`, {
      name: podName,
      kind: 'PodLogOptions',
    });
    return undefined;
  }
  if (sinceTime) {
    const ms = RFC3339.test(sinceTime) ? Date.parse(sinceTime) : NaN;
    if (Number.isNaN(ms)) {
      sendStatus(res, 400, 'BadRequest', `parsing time "${sinceTime}" as "2006-01-02T15:04:05Z07:00": cannot parse "${sinceTime}" as RFC3339`);
      return undefined;
    }
    return Math.floor(ms / 1000) * 1000;
  }
  // sinceSeconds was decoded and range-checked with the other limits.
  return sinceSeconds === undefined ? 0 : now - sinceSeconds * 1000;
}

export function servePodLog(res: ServerResponse, pod: EmulatedPod, query: URLSearchParams, now: () => number = Date.now): void {
  const container = query.get('container');
  if (!container && pod.containers.length > 1) {
    return sendStatus(res, 400, 'BadRequest', `a container name must be specified for pod ${pod.name}, choose one of: [${pod.containers.join(' ')}]`);
  }
  if (container && !pod.containers.includes(container)) {
    return sendStatus(res, 400, 'BadRequest', `container ${container} is not valid for pod ${pod.name}`);
  }
  const limits = readLimits(res, query, pod.name);
  if (!limits) return;
  const since = readSince(res, query, pod.name, limits.sinceSeconds, now());
  if (since === undefined) return;
  const timestamps = queryBool(query, 'timestamps');
  const follow = queryBool(query, 'follow');
  const format = (l: LogLine) => (l.time.getTime() < since ? '' : `${timestamps ? `${logTimestamp(l.time)} ` : ''}${l.text}\n`);

  // A copy: lines written while the generated part streams arrive through 'log' instead.
  let history = [...pod.logHistory()];
  let firstGeneratedLine = 1;
  if (limits.tailLines !== undefined) {
    history = history.slice(Math.max(0, history.length - limits.tailLines));
    firstGeneratedLine = generatedLineCount(pod.generatedLogBytes) - (limits.tailLines - history.length) + 1;
  }

  startStream(res, 'text/plain');
  const out = new LogOutput(res, limits.limitBytes);
  // Followed lines logged before the earlier parts are written wait here, in order.
  let waiting: LogLine[] | undefined = [];
  if (follow) {
    const onLog = (l: LogLine) => (waiting ? waiting.push(l) : out.write(format(l)));
    const onStop = () => res.end();
    pod.on('log', onLog);
    pod.once('stopped', onStop);
    res.once('close', () => {
      pod.off('log', onLog);
      pod.off('stopped', onStop);
    });
  }
  const prefix = timestamps ? `${logTimestamp(pod.startedAt)} ` : '';
  // Every generated line has the pod's start time: all of them are since `since`, or none.
  const generated = pod.startedAt.getTime() < since ? 0 : pod.generatedLogBytes;
  out.pump(generatedLogChunks(generated, firstGeneratedLine, prefix), () => {
    for (const l of history) out.write(format(l));
    if (!follow) {
      if (!out.closed) res.end();
      return;
    }
    for (const l of waiting ?? []) out.write(format(l));
    waiting = undefined;
  });
}
