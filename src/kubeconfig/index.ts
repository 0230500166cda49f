/** Reading, merging, locking, atomically writing and cleaning up kubeconfig files. */
export type { ProxyKubeconfigEntry } from './entry.js';
export { KubeconfigError, type KubeconfigErrorCode } from './errors.js';
export { defaultKubeconfigPath } from './paths.js';
export { renderKubeconfig } from './render.js';
export { mergeKubeconfig, type MergeResult, type MergeOptions, type KubeconfigUndo } from './merge.js';
export { removeKubeconfigEntries, type RemoveOptions } from './remove.js';
export { lockFileFor } from './lock.js';
