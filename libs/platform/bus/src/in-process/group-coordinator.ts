/** A consumer in an in-process group: the coordinator hands it partitions and takes them back. */
export interface GroupMember {
  /** Start owning `partitions` (delivery resumes from their committed offsets). */
  assign(partitions: readonly number[]): void;
  /** Give `partitions` up: stop starting messages, drain, commit. Resolves once released. */
  revoke(partitions: readonly number[]): Promise<void>;
}

interface Group {
  readonly partitions: number;
  readonly members: GroupMember[];
  readonly owners: (GroupMember | undefined)[];
  /** Members that called `leave`: out of `members` at once, so no rebalance targets them any more. */
  readonly leaving: Set<GroupMember>;
  chain: Promise<void>;
  /** Steps queued or running on `chain`. */
  pending: number;
}

/**
 * Consumer groups of the in-process log. Partitions are spread round-robin over the
 * members in join order. A rebalance first revokes every partition that changes hands
 * (its old owner drains and commits) and only then assigns it, so unlike Kafka's eager
 * protocol a partition is never handled by two members at once within this process, and
 * the new owner starts exactly where the old one committed.
 *
 * Groups live in this process only: the in-process bus is for one process (the embedded
 * homeserver). Two processes sharing a Postgres database must use Kafka.
 */
export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();

  /** Resolves once `member` has its share of the partitions. */
  join(groupId: string, topic: string, partitions: number, member: GroupMember): Promise<void> {
    const id = `${groupId}\u0000${topic}`;
    let group = this.groups.get(id);
    if (!group) {
      group = {
        partitions,
        members: [],
        owners: new Array<GroupMember | undefined>(partitions).fill(undefined),
        leaving: new Set(),
        chain: Promise.resolve(),
        pending: 0,
      };
      this.groups.set(id, group);
    }
    const g = group;
    return this.serialise(g, async () => {
      if (g.leaving.has(member)) return;
      g.members.push(member);
      await this.rebalance(g);
    });
  }

  /**
   * Revokes everything `member` owns, then spreads it over the remaining members. The
   * member is taken out of the group at once (a rebalance already under way may still
   * assign it partitions; a leaving member ignores them), so members leaving together
   * (a bus closing) are revoked concurrently in the first of their rebalances: the
   * shutdown takes one drain, not one per member.
   */
  leave(groupId: string, topic: string, member: GroupMember): Promise<void> {
    const id = `${groupId}\u0000${topic}`;
    const group = this.groups.get(id);
    if (!group) return Promise.resolve();
    group.leaving.add(member);
    const index = group.members.indexOf(member);
    if (index >= 0) group.members.splice(index, 1);
    return this.serialise(group, async () => {
      try {
        await this.rebalance(group);
      } finally {
        group.leaving.delete(member);
      }
      if (group.members.length === 0 && group.pending === 1) this.groups.delete(id);
    });
  }

  private serialise(group: Group, step: () => Promise<void>): Promise<void> {
    group.pending++;
    const run = group.chain.then(step).finally(() => {
      group.pending--;
    });
    // The chain must survive a failed step; the failure itself reaches the caller via `run`.
    group.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async rebalance(group: Group): Promise<void> {
    // A snapshot: members leaving meanwhile must not change the plan between revoking and assigning.
    const members = [...group.members];
    const target = (p: number): GroupMember | undefined => (members.length === 0 ? undefined : members[p % members.length]);
    const revocations = new Map<GroupMember, number[]>();
    for (let p = 0; p < group.partitions; p++) {
      const owner = group.owners[p];
      if (owner && owner !== target(p)) revocations.set(owner, [...(revocations.get(owner) ?? []), p]);
    }
    await Promise.all([...revocations].map(([owner, partitions]) => owner.revoke(partitions)));
    const assignments = new Map<GroupMember, number[]>();
    for (let p = 0; p < group.partitions; p++) {
      const member = target(p);
      if (member && group.owners[p] !== member) assignments.set(member, [...(assignments.get(member) ?? []), p]);
      group.owners[p] = member;
    }
    for (const [member, partitions] of assignments) member.assign(partitions);
  }
}
