import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultKubeconfigPath } from '../../../src/kubeconfig/index.js';

const HOME = join('/home', 'me');
const existing =
  (...paths: string[]) =>
  (p: string) =>
    paths.includes(p);

describe('defaultKubeconfigPath (client-go GetDefaultFilename)', () => {
  it('is ~/.kube/config without $KUBECONFIG', () => {
    expect(defaultKubeconfigPath({}, HOME, existing())).toBe(join(HOME, '.kube', 'config'));
    expect(defaultKubeconfigPath({ KUBECONFIG: '' }, HOME, existing())).toBe(join(HOME, '.kube', 'config'));
  });

  it('is the only path of $KUBECONFIG, even when it does not exist yet', () => {
    expect(defaultKubeconfigPath({ KUBECONFIG: '/tmp/new' }, HOME, existing())).toBe('/tmp/new');
  });

  it('is the first existing path of a $KUBECONFIG list', () => {
    const env = { KUBECONFIG: ['/a', '/b', '/c'].join(delimiter) };
    expect(defaultKubeconfigPath(env, HOME, existing('/b', '/c'))).toBe('/b');
    expect(defaultKubeconfigPath(env, HOME, existing('/a', '/c'))).toBe('/a');
  });

  it('is the last path of a $KUBECONFIG list when none exists', () => {
    expect(defaultKubeconfigPath({ KUBECONFIG: ['/a', '/b'].join(delimiter) }, HOME, existing())).toBe('/b');
  });

  it('ignores empty list items', () => {
    expect(defaultKubeconfigPath({ KUBECONFIG: `${delimiter}/a${delimiter}` }, HOME, existing())).toBe('/a');
    expect(defaultKubeconfigPath({ KUBECONFIG: `${delimiter}${delimiter}` }, HOME, existing())).toBe(join(HOME, '.kube', 'config'));
  });
});
