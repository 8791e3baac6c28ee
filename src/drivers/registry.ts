/** The loaded secret drivers, by name. Loading (built-ins and --driver modules) fills it. */
import type { SecretDriver } from './types.ts';

export class DriverRegistry {
  private readonly drivers = new Map<string, SecretDriver>();

  register(driver: SecretDriver): void {
    if (this.drivers.has(driver.name)) throw new Error(`two secret drivers are named "${driver.name}"`);
    this.drivers.set(driver.name, driver);
  }

  get(name: string): SecretDriver | undefined {
    return this.drivers.get(name);
  }

  names(): string[] {
    return [...this.drivers.keys()].sort();
  }
}
