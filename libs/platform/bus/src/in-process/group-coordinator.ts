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
  chain: Promise<void>;
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
      group = { partitions, members: [], owners: new Array<GroupMember | undefined>(partitions).fill(undefined), chain: Promise.resolve() };
      this.groups.set(id, group);
    }
    const g = group;
    return this.serialise(g, async () => {
      g.members.push(member);
      await this.rebalance(g);
    });
  }

  /** Revokes everything `member` owns, then spreads it over the remaining members. */
  leave(groupId: string, topic: string, member: GroupMember): Promise<void> {
    const id = `${groupId}\u0000${topic}`;
    const group = this.groups.get(id);
    if (!group) return Promise.resolve();
    return this.serialise(group, async () => {
      const index = group.members.indexOf(member);
      if (index < 0) return;
      group.members.splice(index, 1);
      await this.rebalance(group);
      if (group.members.length === 0) this.groups.delete(id);
    });
  }

  private serialise(group: Group, step: () => Promise<void>): Promise<void> {
    const run = group.chain.then(step);
    // The chain must survive a failed step; the failure itself reaches the caller via `run`.
    group.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async rebalance(group: Group): Promise<void> {
    const target = (p: number): GroupMember | undefined =>
      group.members.length === 0 ? undefined : group.members[p % group.members.length];
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
