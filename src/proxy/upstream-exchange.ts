/**
 * One request and its response on one relay stream: writes the request head (and body), parses
 * the answer with the HTTP/1.1 parser and hands out an UpstreamResponse. When the response is
 * over, a stream that can carry another request (the response ended cleanly, the parser says the
 * connection persists, and the whole request was sent) is given back through `release`; any
 * other stream (failed, cut, or left mid-response by its reader) is destroyed here.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ResponseParser, type ResponseHead } from './http1-response.js';
import { sendRequestBody, type BodyFraming } from './request-body.js';
import { UpstreamResponse, type BodySource } from './upstream-response.js';
import { streamClosedEarly } from '../tunnel/errors.js';

export interface ExchangeRequest {
  method: string;
  /** The request head, latin1 (UpstreamRequest.head() in request-head.ts). */
  head: string;
  /** The body to send after the head, when there is one. */
  body?: { req: IncomingMessage; framing: BodyFraming; onBytes?: ((n: number) => void) | undefined } | undefined;
}

export interface ExchangeEvents {
  onResponse(res: UpstreamResponse): void;
  /**
   * No response head came: the stream failed or closed, or sent something that is not HTTP
   * (a ResponseParseError). `sawResponseByte` says whether any byte of an answer arrived.
   */
  onFailure(err: Error, sawResponseByte: boolean): void;
  /** The response is over and the stream may carry another request. */
  release(stream: Duplex): void;
}

export class UpstreamExchange implements BodySource {
  readonly #stream: Duplex;
  readonly #events: ExchangeEvents;
  readonly #parser: ResponseParser;
  #response: UpstreamResponse | undefined;
  #sawByte = false;
  /** The request went out whole (true at once when it has no body). */
  #requestSent: boolean;
  #error: Error | undefined;
  /** The stream has been released or destroyed: nothing here touches it any more. */
  #settled = false;

  constructor(stream: Duplex, request: ExchangeRequest, events: ExchangeEvents) {
    this.#stream = stream;
    this.#events = events;
    this.#parser = new ResponseParser(request.method, {
      onHead: (head) => this.#onHead(head),
      onBody: (chunk) => this.#response?.deliver(chunk),
      onEnd: () => this.#response?.finish(),
    });
    this.#requestSent = request.body === undefined;
    stream.on('data', this.#onData);
    stream.on('end', this.#onEnd);
    stream.on('error', this.#onError);
    stream.on('close', this.#onClose);
    const body = request.body;
    if (body === undefined) {
      stream.write(request.head, 'latin1');
    } else {
      // Head and the part of the body already here leave in one write: the body's first
      // 'data' comes on the next tick, before this uncork.
      stream.cork();
      stream.write(request.head, 'latin1');
      sendRequestBody(body.req, stream, body.framing, body.onBytes, (sent) => this.#onRequestSent(sent));
      process.nextTick(uncork, stream);
    }
    // A stream taken from the pool is paused; a new one starts flowing with the listener.
    stream.resume();
    // Closed before it was handed over: its 'close' has come and gone.
    if (stream.destroyed) process.nextTick(() => this.#fail(this.#error ?? streamClosedEarly(false)));
  }

  /**
   * The reader is no longer interested: an unfinished exchange destroys its stream (and reports
   * a failure if no response had come, so nobody waits for one).
   */
  abort(): void {
    this.#fail(new Error('the request was abandoned'));
  }

  pause(): void {
    if (!this.#settled) this.#stream.pause();
  }

  resume(): void {
    if (!this.#settled) this.#stream.resume();
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#sawByte = true;
    try {
      this.#parser.execute(chunk);
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    if (!this.#settled && this.#parser.done) this.#settle(this.#parser.reusable && this.#requestSent);
  };

  readonly #onEnd = (): void => {
    // The stream ended cleanly: that completes a close-delimited body, and nothing else.
    if (this.#parser.finish()) {
      if (!this.#settled) this.#settle(false);
    } else {
      this.#fail(streamClosedEarly(this.#response !== undefined));
    }
  };

  readonly #onError = (err: Error): void => {
    this.#error ??= err;
  };

  readonly #onClose = (): void => {
    this.#fail(this.#error ?? streamClosedEarly(this.#response !== undefined));
  };

  #onHead(head: ResponseHead): void {
    const response = new UpstreamResponse(head, this);
    this.#response = response;
    this.#events.onResponse(response);
  }

  #onRequestSent(sent: boolean): void {
    if (sent) {
      this.#requestSent = true;
      return;
    }
    // Half a request is on the stream: nothing more can be said on it.
    this.#fail(new Error('the request body could not be sent whole'));
  }

  #fail(err: Error): void {
    if (this.#settled) return;
    this.#settle(false);
    if (this.#response !== undefined) this.#response.cut();
    else this.#events.onFailure(err, this.#sawByte);
  }

  #settle(reusable: boolean): void {
    this.#settled = true;
    this.#parser.stop();
    const stream = this.#stream;
    stream.off('data', this.#onData);
    stream.off('end', this.#onEnd);
    stream.off('error', this.#onError);
    stream.off('close', this.#onClose);
    if (reusable) this.#events.release(stream);
    else stream.destroy();
  }
}

function uncork(stream: Duplex): void {
  stream.uncork();
}
