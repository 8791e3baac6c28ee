/**
 * The loaded drivers by name, and their lifecycle: `init` once at start with each driver's
 * settings, `close` at stop. Secret-driver names not loaded in-process are asked of the
 * providers (the Docker plugin bridge) at each lookup, as dockerd looks plugins up on use.
 */
import { DriverLoadError } from './load.ts';
import type { Driver, DriverLog, DriverProvider, SecretDriver, StringMap, TemplatingDriver } from './types.ts';

export interface Registered {
  driver: Driver;
  source: string;
}

export class DriverRegistry {
  private readonly byName = new Map<string, Registered>();

  /** Adds a driver; a second driver with the same name is refused, naming both sources. */
  register(driver: Driver, source = 'in-process'): void {
    const existing = this.byName.get(driver.name);
    if (existing) {
      throw new DriverLoadError(`two drivers are named "${driver.name}": ${existing.source} and ${source}`);
    }
    this.byName.set(driver.name, { driver, source });
  }

  /** Calls every driver's `init` with its settings; the first failure stops start-up. */
  async init(settings: Record<string, StringMap>, dataRoot: string, logFor: (name: string) => DriverLog): Promise<void> {
    for (const name of Object.keys(settings)) {
      if (!this.byName.has(name)) throw new DriverLoadError(`--driver-opt ${name}.…: no driver named "${name}" is loaded`);
    }
    for (const { driver, source } of this.byName.values()) {
      try {
        await driver.init?.({ settings: { ...settings[driver.name] }, dataRoot, log: logFor(driver.name) });
      } catch (e) {
        throw new DriverLoadError(`driver ${driver.name} (${source}) failed to start: ${(e as Error).message}`);
      }
    }
  }

  /** Closes every driver; errors are reported, not thrown, so all get their turn. */
  async close(onError: (name: string, error: unknown) => void): Promise<void> {
    for (const { driver } of this.byName.values()) {
      try {
        await driver.close?.();
      } catch (e) {
        onError(driver.name, e);
      }
    }
  }

  /** The secret driver called `name`: loaded in-process, or supplied by a provider; else undefined. */
  async secretDriver(name: string): Promise<SecretDriver | undefined> {
    const own = this.byName.get(name)?.driver;
    if (own?.kind === 'secret') return own;
    for (const provider of this.providers()) {
      const found = await provider.resolve(name);
      if (found) return found;
    }
    return undefined;
  }

  templatingDriver(name: string): TemplatingDriver | undefined {
    const d = this.byName.get(name)?.driver;
    return d?.kind === 'templating' ? d : undefined;
  }

  /** Loaded drivers of one kind, by name, sorted. */
  names(kind: Driver['kind']): string[] {
    return [...this.byName.values()]
      .filter((r) => r.driver.kind === kind)
      .map((r) => r.driver.name)
      .sort();
  }

  private providers(): DriverProvider[] {
    return [...this.byName.values()].map((r) => r.driver).filter((d): d is DriverProvider => d.kind === 'provider');
  }
}
