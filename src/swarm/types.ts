/** The swarm state as the store keeps it: the record is part of the Store contract. */
export type { SwarmRecord } from '../store/records.ts';
