/**
 * The emulated ARM's request handling: planned faults, authentication, api-version (present and
 * well-formed), then the route. Paths match case-insensitively. As in ARM, authorization is checked
 * on the requested scope before the resource is looked up, so a caller without access learns
 * nothing about it; connectedClusters routes then take only the api-versions the REST
 * specification publishes for them (api-versions.ts), as ARM does, with its 400 NoRegisteredProviderFound.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessTokenClaims } from '../entra/index.js';
import { BodyTooLargeError, readBody, sendJson } from '../entra/http.js';
import type { RelayDirectory } from '../relay-directory.js';
import { CONNECTED_CLUSTERS_API_VERSIONS, hasRelayFields, servedApiVersion } from './api-versions.js';
import type { ArmAuthenticator } from './auth.js';
import { canSeeSubscription, isAuthorized, type ArmPermission } from './authorization.js';
import { ArmHttpError, LIST_USER_CREDENTIAL_ACTION, READ_CLUSTER_ACTION, READ_RESOURCE_GROUP_ACTION, armErrors } from './errors.js';
import type { FaultPlan } from './faults.js';
import type { ArmInventory } from './inventory.js';
import { parseUserCredentialRequest, userCredentialResult } from './user-credential.js';

export interface ArmRouteContext {
  inventory: ArmInventory;
  relays: RelayDirectory;
  auth: ArmAuthenticator;
  faults: FaultPlan;
  now: () => number;
}

const API_VERSION = /^\d{4}-\d{2}-\d{2}(-(preview|alpha|beta|privatepreview))?$/i;

interface Call {
  req: IncomingMessage;
  method: string;
  /** As sent; well-formed. */
  apiVersion: string;
  /** Path segments as sent (original case). */
  segments: string[];
  caller: AccessTokenClaims;
}

function principalIds(caller: AccessTokenClaims): string[] {
  return [caller.oid, ...(caller.groups ?? [])];
}

function authorize(ctx: ArmRouteContext, call: Call, scope: string, permission: ArmPermission, action: string): void {
  if (!isAuthorized(ctx.inventory.seed, principalIds(call.caller), scope, permission)) {
    throw armErrors.authorizationFailed(call.caller.oid, action, scope);
  }
}

function requireMethod(call: Call, method: string): void {
  if (call.method !== method) throw armErrors.methodNotAllowed(call.method);
}

async function route(ctx: ArmRouteContext, call: Call): Promise<{ status: number; body: unknown }> {
  const s = call.segments;
  const lower = s.map((x) => x.toLowerCase());
  const { inventory } = ctx;
  if (lower[0] !== 'subscriptions') throw armErrors.noRoute(`/${s.join('/')}`);

  if (s.length === 1) {
    requireMethod(call, 'GET');
    const visible = inventory.seed.subscriptions.filter((sub) => canSeeSubscription(inventory.seed, principalIds(call.caller), sub.id));
    return { status: 200, body: { value: visible.map((sub) => inventory.subscriptionJson(sub)), count: { type: 'Total', value: visible.length } } };
  }

  const subscriptionId = s[1]!;
  const subscription = inventory.subscription(subscriptionId);
  if (!subscription) throw armErrors.subscriptionNotFound(subscriptionId);
  if (s.length === 2) {
    requireMethod(call, 'GET');
    // A subscription the caller holds no role in is not shown to it; requests for resources
    // inside it still reach RBAC and fail there (403), as in ARM.
    if (!canSeeSubscription(inventory.seed, principalIds(call.caller), subscription.id)) throw armErrors.subscriptionNotFound(subscriptionId);
    return { status: 200, body: inventory.subscriptionJson(subscription) };
  }
  if (lower[2] !== 'resourcegroups' || s.length < 4) throw armErrors.noRoute(`/${s.join('/')}`);
  const rgName = s[3]!;
  const rgScope = `/subscriptions/${subscription.id}/resourceGroups/${rgName}`;

  if (s.length === 4) {
    requireMethod(call, 'GET');
    authorize(ctx, call, rgScope, 'read', READ_RESOURCE_GROUP_ACTION);
    const rg = inventory.resourceGroup(subscription.id, rgName);
    if (!rg) throw armErrors.resourceGroupNotFound(rgName);
    return { status: 200, body: inventory.resourceGroupJson(rg) };
  }

  const isCluster = s.length >= 8 && lower[4] === 'providers' && lower[5] === 'microsoft.kubernetes' && lower[6] === 'connectedclusters';
  if (!isCluster || s.length > 9 || (s.length === 9 && lower[8] !== 'listclusterusercredential')) {
    throw armErrors.noRoute(`/${s.join('/')}`);
  }
  const clusterName = s[7]!;
  const clusterScope = `${rgScope}/providers/Microsoft.Kubernetes/connectedClusters/${clusterName}`;
  const listCredential = s.length === 9;
  requireMethod(call, listCredential ? 'POST' : 'GET');
  if (listCredential) authorize(ctx, call, clusterScope, 'listClusterUserCredential', LIST_USER_CREDENTIAL_ACTION);
  else authorize(ctx, call, clusterScope, 'read', READ_CLUSTER_ACTION);

  const rg = inventory.resourceGroup(subscription.id, rgName);
  if (!rg) throw armErrors.resourceGroupNotFound(rgName);
  const record = inventory.cluster(subscription.id, rgName, clusterName);
  // ARM routes by resource type, location and api-version: a version the provider does not
  // register for connectedClusters never reaches it.
  const apiVersion = servedApiVersion(call.apiVersion);
  if (!apiVersion) {
    const locations = [...new Set(inventory.seed.resourceGroups.flatMap((g) => [g.location, ...g.clusters.map((c) => c.location)]))];
    throw armErrors.noRegisteredProvider(
      record?.cluster.location ?? rg.location,
      call.apiVersion,
      'connectedClusters',
      CONNECTED_CLUSTERS_API_VERSIONS,
      locations,
    );
  }
  if (!record) throw armErrors.clusterNotFound(clusterName, rgName);
  if (!listCredential) return { status: 200, body: inventory.clusterJson(record) };

  const request = parseUserCredentialRequest(await readBody(call.req));
  if (typeof request === 'string') throw armErrors.invalidRequestContent(request);
  // Every credential names a hybrid connection of its own, deleted at its expiration time.
  const lifetimeSeconds = ctx.faults.relayTokenLifetimeSeconds;
  const entry = ctx.relays.issue(record.id, record.cluster.location, { nowMs: ctx.now(), lifetimeSeconds });
  const relayFields = hasRelayFields(apiVersion)
    ? { relayTid: inventory.seed.tenantId, ...(record.cluster.relayType ? { relayType: record.cluster.relayType } : {}) }
    : undefined;
  return {
    status: 200,
    body: userCredentialResult(record, entry, ctx.relays, request, lifetimeSeconds, relayFields),
  };
}

function plannedFailure(ctx: ArmRouteContext, subscriptionHint: string): ArmHttpError | undefined {
  const failure = ctx.faults.take();
  if (!failure) return undefined;
  if (failure.status === 429) return armErrors.throttled(subscriptionHint, failure.retryAfterSeconds ?? 1);
  const err = armErrors.internal(randomUUID());
  return failure.retryAfterSeconds === undefined
    ? err
    : new ArmHttpError(err.status, err.code, err.message, { 'retry-after': String(failure.retryAfterSeconds) });
}

function decodePath(pathname: string): string[] {
  try {
    return pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    throw armErrors.noRoute(pathname);
  }
}

export async function handleArmRequest(ctx: ArmRouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  const correlationHeader = req.headers['x-ms-correlation-request-id'];
  const ids = {
    'x-ms-request-id': requestId,
    'x-ms-correlation-request-id': typeof correlationHeader === 'string' && correlationHeader ? correlationHeader : requestId,
  };
  const url = new URL(req.url ?? '/', 'https://arm.invalid');
  try {
    const segments = decodePath(url.pathname);
    const fault = plannedFailure(ctx, segments[1] ?? '');
    if (fault) throw fault;
    const caller = await ctx.auth.authenticate(req);
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion) throw armErrors.missingApiVersion();
    if (!API_VERSION.test(apiVersion)) throw armErrors.invalidApiVersion(apiVersion);
    const { status, body } = await route(ctx, { req, method: req.method ?? 'GET', apiVersion, segments, caller });
    sendJson(res, status, body, ids);
  } catch (err) {
    if (err instanceof ArmHttpError) return sendJson(res, err.status, err.body(), { ...ids, ...err.headers });
    if (err instanceof BodyTooLargeError) return sendJson(res, 413, { error: { code: 'RequestEntityTooLarge', message: err.message } }, ids);
    throw err;
  }
}
