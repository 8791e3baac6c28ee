/** Where the Engine API may listen, by address and protection (src/daemon/exposure.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkExposure, type Protection } from '../../src/daemon/exposure.ts';
import { INSECURE_LISTEN_FLAG } from '../../src/daemon/flags.ts';

const CASES: [url: string, protection: Protection, insecure: boolean, outcome: 'ok' | 'insecure' | 'refused'][] = [
  ['unix:///run/secretd.sock', 'none', false, 'ok'],
  ['tcp://127.0.0.1:2375', 'none', false, 'ok'],
  ['tcp://127.8.9.1:2375', 'none', false, 'ok'],
  ['tcp://localhost:2375', 'none', false, 'ok'],
  ['tcp://[::1]:2375', 'none', false, 'ok'],
  ['tcp://0.0.0.0:2376', 'tlsverify', false, 'ok'],
  ['tcp://10.0.0.5:2376', 'tlsverify', false, 'ok'],
  ['tcp://0.0.0.0:2375', 'none', false, 'refused'],
  ['tcp://[::]:2375', 'none', false, 'refused'],
  ['tcp://docker.example:2375', 'none', false, 'refused'],
  ['tcp://:2375', 'none', false, 'ok'], // an empty host is 127.0.0.1 here (dockerd: localhost)
  ['tcp://10.0.0.5:2376', 'tls', false, 'refused'],
  ['tcp://0.0.0.0:2375', 'none', true, 'insecure'],
  ['tcp://10.0.0.5:2376', 'tls', true, 'insecure'],
  ['tcp://127.0.0.1:2375', 'none', true, 'ok'],
];

for (const [url, protection, insecure, outcome] of CASES) {
  test(`${url} with ${protection}${insecure ? ' and the loud flag' : ''} is ${outcome}`, () => {
    if (outcome === 'refused') {
      assert.throws(
        () => checkExposure(url, protection, insecure),
        (e: Error) => e.message.startsWith(`refusing to listen on ${url}: `) && e.message.includes(`--${INSECURE_LISTEN_FLAG}`),
      );
    } else {
      assert.equal(checkExposure(url, protection, insecure), outcome);
    }
  });
}
