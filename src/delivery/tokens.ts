/**
 * Consumer tokens: an administrator issues one per workload, scoped to secret-name patterns
 * (as DC/OS scopes secrets by path). The token is shown once; the store keeps only a SHA-256 of
 * its secret part, and checks compare hashes in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { rfc3339Nano } from '../core/clock.ts';
import { InvalidArgument, TokenNotFound, Unauthorized } from '../core/errors.ts';
import type { Store } from '../store/types.ts';
import { globMatch } from './glob.ts';
import type { TokenRecord, TokenView } from './types.ts';

/** `sdt_` + 16 hex ID + `_` + 43 base64url characters (32 random bytes). */
const TOKEN_FORMAT = /^sdt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** A name pattern: the characters of a secret name, plus `*`. */
export const PATTERN = /^[a-zA-Z0-9*][a-zA-Z0-9_.*-]{0,63}$/;

export class TokenService {
  private readonly store: Store;
  constructor(store: Store) {
    this.store = store;
  }

  /** Issues a token for `allow` patterns; the returned `token` is the only copy there will be. */
  async issue(allow: string[], description = ''): Promise<{ token: string; view: TokenView }> {
    if (allow.length === 0) throw new InvalidArgument('a token needs at least one allowed name pattern');
    for (const p of allow) {
      if (!PATTERN.test(p)) throw new InvalidArgument(`invalid name pattern ${JSON.stringify(p)}: use the characters of secret names and *`);
    }
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const record: TokenRecord = { id, hash: sha256(secret), allow: [...new Set(allow)], description, createdAt: rfc3339Nano() };
    await this.store.createToken(record);
    return { token: `sdt_${id}_${secret}`, view: toView(record) };
  }

  async list(): Promise<TokenView[]> {
    return (await this.store.listTokens()).map(toView);
  }

  async revoke(id: string): Promise<void> {
    if (!(await this.store.deleteToken(id))) throw new TokenNotFound(id);
  }

  /** The token a bearer header names, or Unauthorized (the same answer for every kind of bad token). */
  async authenticate(authorization: string | undefined): Promise<TokenRecord> {
    const bearer = /^Bearer +(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!bearer) throw new Unauthorized();
    const parts = TOKEN_FORMAT.exec(bearer);
    const record = parts && (await this.store.getToken(parts[1]!));
    if (!parts || !record || !timingSafeEqual(Buffer.from(record.hash, 'hex'), Buffer.from(sha256(parts[2]!), 'hex'))) {
      throw new Unauthorized('the consumer token is not valid (revoked, mistyped or never issued)');
    }
    return record;
  }
}

/** The public ID a bearer header claims (the format's ID part), without checking the token. */
export function claimedTokenId(authorization: string | undefined): string | undefined {
  const bearer = /^Bearer +(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  return bearer ? TOKEN_FORMAT.exec(bearer)?.[1] : undefined;
}

/** Whether one of the token's patterns matches `name`, a STORED secret's name, in full. */
export function allows(token: Pick<TokenRecord, 'allow'>, name: string): boolean {
  return token.allow.some((p) => globMatch(p, name));
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function toView(r: TokenRecord): TokenView {
  return { ID: r.id, Allow: r.allow, Description: r.description, CreatedAt: r.createdAt };
}
