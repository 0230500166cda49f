/** Fault hooks the tests (in process) and the admin endpoint (over loopback HTTPS) can pull. */
export interface EmulatorFaults {
  /** Destroy every relay connection at once, as a network cut would. */
  dropRelayConnections(): void;
  /** Treat every relay token issued so far as expired (listeners are closed with 1008). */
  expireRelayTokens(): void;
  /** Take a cluster's agent offline (listener closed, streams dropped) or bring it back. */
  setAgentOnline(cluster: string, online: boolean): Promise<void>;
  /** ARM answers the next `count` calls with 429 (Retry-After) or 500. */
  armFailNext(count: number, status: 429 | 500, retryAfterSeconds?: number): void;
  /** Entra throttles the next `count` client-credentials token requests: 429 with Retry-After (default 60 s). */
  entraThrottleNext(count: number, retryAfterSeconds?: number): void;
  /** Lifetime of Entra access tokens issued from now on. */
  setTokenLifetime(seconds: number): void;
  /** Lifetime of relay SAS tokens that listClusterUserCredential hands out from now on. */
  setRelayTokenLifetime(seconds: number): void;
  /** Device codes from now on: approved at once ('automatic') or by approveDeviceCode ('manual'), and the poll interval. */
  setDeviceCodeApproval(approval: 'automatic' | 'manual', intervalSeconds?: number): void;
  /** Approves the device-code sign-in with this user code, as its user would in a browser; false when there is none. */
  approveDeviceCode(userCode: string): boolean;
  /** How long after listClusterUserCredential the agent starts listening on the new hybrid connection (ms), from now on. */
  setRelayListenerDelay(ms: number): void;
  /** One-way latency (ms) every byte between relay clients and the relay pays from now on (see seed relayLatencyMs). */
  setRelayLatency(ms: number): void;
}
