/**
 * The TLS secret: a certificate (leaf first, then any chain) and its private key, both PEM,
 * checked to parse and to belong together, stored as one PEM bundle: the certificate blocks,
 * then the key block, each ending in a newline (the layout HAProxy and most proxies read).
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { FormError } from './form-error.ts';

interface PemBlock {
  label: string;
  text: string;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** The PEM blocks in `text`, line endings made LF; text around the blocks (openssl's "Bag Attributes") is ignored. */
export function pemBlocks(text: string): PemBlock[] {
  return [...text.matchAll(BLOCK)].map((m) => ({ label: m[1]!, text: m[0].replace(/\r\n/g, '\n') }));
}

export function encodeTls(certText: string, keyText: string): string {
  const certs = pemBlocks(certText);
  if (certs.length === 0) throw new FormError('the certificate is not PEM: expected "-----BEGIN CERTIFICATE-----"');
  const stray = certs.find((b) => b.label !== 'CERTIFICATE');
  if (stray) throw new FormError(`the certificate field holds a "${stray.label}" block: only certificates go there (the key has its own field)`);
  const parsed = certs.map((b, i) => {
    try {
      return new X509Certificate(b.text);
    } catch {
      throw new FormError(i === 0 ? 'the certificate is not a valid PEM certificate' : `certificate ${i + 1} of the chain is not a valid PEM certificate`);
    }
  });

  const keys = pemBlocks(keyText);
  if (keys.length !== 1)
    throw new FormError(keys.length === 0 ? 'the key is not PEM: expected "-----BEGIN PRIVATE KEY-----"' : 'the key field must hold exactly one PEM block');
  const block = keys[0]!;
  if (block.label === 'ENCRYPTED PRIVATE KEY' || block.text.includes('Proc-Type: 4,ENCRYPTED')) {
    throw new FormError('the key is encrypted: give it without a passphrase (openssl pkey -in key.pem)');
  }
  if (!block.label.endsWith('PRIVATE KEY')) throw new FormError(`the key field holds a "${block.label}" block, not a private key`);
  let key: KeyObject;
  try {
    key = createPrivateKey(block.text);
  } catch {
    throw new FormError('the key is not a valid PEM private key');
  }
  if (!matches(parsed[0]!, key)) throw new FormError('the private key does not match the certificate');
  return [...certs.map((b) => b.text), block.text].join('\n') + '\n';
}

/** Whether the leaf certificate's public key is the key's; a key of another type is simply no match. */
function matches(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
}
