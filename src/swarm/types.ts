/** The persisted swarm state of this daemon (or, with a shared store, of the whole cluster). */
export interface SwarmRecord {
  /** "inactive" once the node left; "active" while it is a manager. */
  state: 'active' | 'inactive';
  /** Present while active. */
  cluster?: {
    id: string;
    nodeId: string;
    version: number;
    createdAt: string;
    updatedAt: string;
    listenAddr: string;
    advertiseAddr: string;
    autoLockManagers: boolean;
    labels: Record<string, string>;
    joinTokens: { worker: string; manager: string };
  };
}
