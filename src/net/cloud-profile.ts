/**
 * A cloud profile: everything that differs between Azure's public cloud, its sovereign clouds and
 * the emulator (endpoints, the host map, the CA to trust). It sits on the ground floor because
 * every outgoing connection (ARM, Entra, Relay) is made with it; the built-in profiles and the
 * profile-file loader are in src/azure/cloud.ts.
 */
export interface CloudProfile {
  name: string;
  /** e.g. https://management.azure.com */
  resourceManagerEndpoint: string;
  /** Token audience for ARM, e.g. https://management.azure.com/ (scope is audience + ".default"). */
  resourceManagerAudience: string;
  /** e.g. https://login.microsoftonline.com */
  authorityHost: string;
  /** e.g. servicebus.windows.net: relay hosts are {relay}.{relaySuffix}. */
  relaySuffix: string;
  /**
   * Host name to "address:port" overrides, applied when connecting (TLS still verifies the
   * original name). Keys are exact host names or "*.suffix" wildcards. Used to reach the emulator
   * without DNS or /etc/hosts changes.
   */
  hostMap?: Record<string, string>;
  /** Extra PEM certificates to trust (in addition to Node's built-in roots). */
  ca?: string;
  /** Skip Entra instance discovery (needed for any authority that is not a Microsoft cloud). */
  disableInstanceDiscovery?: boolean;
}
