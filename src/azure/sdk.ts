/**
 * The one place the Azure SDK is loaded. It is loaded through `require` (the packages' CommonJS
 * builds) rather than `import()`: Node's ES-module loader resolves @azure/identity's many files one
 * by one, about 200 ms on the machines we measure on, against about 90 ms for the CommonJS builds —
 * the biggest part of arcproxy's launch-to-ready time. Every Azure package must come through here:
 * mixing loaders would load shared packages (core-rest-pipeline, core-client) twice and break
 * `instanceof` checks across them.
 * The shipped CLI is bundled (scripts/bundle.mjs): there these requires load the bundled copies.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export type IdentityModule = typeof import('@azure/identity');
export type CoreClientModule = typeof import('@azure/core-client');
export type CoreRestPipelineModule = typeof import('@azure/core-rest-pipeline');

export function loadIdentity(): IdentityModule {
  return require('@azure/identity') as IdentityModule;
}

export function loadCoreClient(): CoreClientModule {
  return require('@azure/core-client') as CoreClientModule;
}

export function loadCoreRestPipeline(): CoreRestPipelineModule {
  return require('@azure/core-rest-pipeline') as CoreRestPipelineModule;
}

/**
 * Starts loading the SDK without blocking the caller for long: start-up calls this right after
 * opening its listener so the load overlaps other work queued on the event loop. `identity`:
 * whether the sign-in will need @azure/identity (a client secret does not: secret-credential.ts).
 */
export function preloadAzureSdk(opts: { identity: boolean }): void {
  setImmediate(() => {
    try {
      if (opts.identity) loadIdentity();
      loadCoreClient();
    } catch {
      // The real load reports the failure where it is needed.
    }
  });
}
