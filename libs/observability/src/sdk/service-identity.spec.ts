import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

import { ATTR_DEPLOYMENT_ENVIRONMENT_NAME, type DeferredIdentity, deferredIdentity, IDENTITY_WAIT_MS } from './service-identity';

/** The attributes a resource built from the identity ends up with, as exporters see them. */
async function resolved(identity: DeferredIdentity): Promise<Record<string, unknown>> {
  const resource = resourceFromAttributes(identity.attributes);
  await resource.waitForAsyncAttributes?.();
  return { ...resource.attributes };
}

const NONE = { serviceName: undefined, serviceVersion: undefined, environment: undefined };

afterEach(() => {
  jest.useRealTimers();
});

describe('deferredIdentity', () => {
  it('is settled from the start when env names all three, and env wins over the module', () => {
    const identity = deferredIdentity({ serviceName: 'orders', serviceVersion: '1.2.3', environment: 'prod' });

    expect(identity.pending).toBe(false);
    identity.settle({ serviceName: 'from-module', serviceVersion: '9', environment: 'dev' });

    expect(identity.attributes).toEqual({
      [ATTR_SERVICE_NAME]: 'orders',
      [ATTR_SERVICE_VERSION]: '1.2.3',
      [ATTR_DEPLOYMENT_ENVIRONMENT_NAME]: 'prod',
    });
  });

  it('waits for the module for what env did not set, and keeps what env did', async () => {
    const identity = deferredIdentity({ ...NONE, serviceName: 'orders' });
    expect(identity.pending).toBe(true);

    identity.settle({ serviceName: 'from-module', serviceVersion: '2.0.0', environment: 'staging' });

    expect(identity.pending).toBe(false);
    await expect(resolved(identity)).resolves.toEqual({
      [ATTR_SERVICE_NAME]: 'orders',
      [ATTR_SERVICE_VERSION]: '2.0.0',
      [ATTR_DEPLOYMENT_ENVIRONMENT_NAME]: 'staging',
    });
  });

  it('counts only the first settle', async () => {
    const identity = deferredIdentity(NONE);

    identity.settle({ serviceName: 'first', serviceVersion: '1', environment: 'one' });
    identity.settle({ serviceName: 'second', serviceVersion: '2', environment: 'two' });

    await expect(resolved(identity)).resolves.toEqual({
      [ATTR_SERVICE_NAME]: 'first',
      [ATTR_SERVICE_VERSION]: '1',
      [ATTR_DEPLOYMENT_ENVIRONMENT_NAME]: 'one',
    });
  });

  it('falls back to the defaults when settled with nothing (a flush before the module reported)', async () => {
    const identity = deferredIdentity(NONE);

    identity.settle(undefined);

    await expect(resolved(identity)).resolves.toEqual({
      [ATTR_SERVICE_NAME]: 'unknown_service:node',
      [ATTR_SERVICE_VERSION]: 'unknown',
      [ATTR_DEPLOYMENT_ENVIRONMENT_NAME]: 'development',
    });
  });

  it(`stops waiting after ${IDENTITY_WAIT_MS} ms when no module reports`, async () => {
    jest.useFakeTimers();
    const identity = deferredIdentity({ ...NONE, environment: 'prod' });

    jest.advanceTimersByTime(IDENTITY_WAIT_MS - 1);
    expect(identity.pending).toBe(true);
    jest.advanceTimersByTime(1);
    expect(identity.pending).toBe(false);

    // A module that reports late changes nothing: spans already went out with the defaults.
    identity.settle({ serviceName: 'late', serviceVersion: '1', environment: 'dev' });
    await expect(resolved(identity)).resolves.toEqual({
      [ATTR_SERVICE_NAME]: 'unknown_service:node',
      [ATTR_SERVICE_VERSION]: 'unknown',
      [ATTR_DEPLOYMENT_ENVIRONMENT_NAME]: 'prod',
    });
  });

  it('takes the bound as a parameter', () => {
    jest.useFakeTimers();
    const identity = deferredIdentity(NONE, 10);

    jest.advanceTimersByTime(10);

    expect(identity.pending).toBe(false);
  });
});
