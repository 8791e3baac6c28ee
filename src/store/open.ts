/**
 * Picks the backend from the config: SQLite in the data root by default, etcd for
 * `--store etcd://…` (its module, and the etcd3 client with it, loaded only then).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStore } from './sqlite.ts';
import type { Store } from './types.ts';

/** What the store needs of the daemon's Config (src/daemon/config.ts passes its own, which fits). */
export interface StoreConfig {
  readonly dataRoot: string;
  /** `sqlite` (the default) or `etcd://host:port,…[/prefix]`. */
  readonly store?: string;
  /** PEM files for etcd's TLS. */
  readonly etcdTls?: { readonly ca?: string; readonly cert?: string; readonly key?: string };
}

export async function openStore(config: StoreConfig): Promise<Store> {
  const url = config.store ?? 'sqlite';
  if (url === 'sqlite') return new SqliteStore(join(config.dataRoot, 'secretd.db'));
  const { EtcdStore } = await import('./etcd.ts');
  const tls = config.etcdTls ?? {};
  const pem = (file: string | undefined) => (file === undefined ? undefined : readFileSync(file));
  return EtcdStore.connect({ ...parseEtcdUrl(url), tls: { ca: pem(tls.ca), cert: pem(tls.cert), key: pem(tls.key) } });
}

/** `etcd://h1:p1,h2:p2/team/secretd` → endpoints `h1:p1`, `h2:p2` and prefix `team/secretd`. */
export function parseEtcdUrl(url: string): { endpoints: string[]; prefix: string } {
  const rest = url.slice('etcd://'.length);
  const slash = rest.indexOf('/');
  const hosts = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
  return { endpoints: hosts.split(','), prefix: prefix || 'secretd' };
}
