// Capability approvals the user asked the host to remember ("Remember for this widget" in the
// prompt), for this page's life. Kept per client (account and device) and widget: an approval
// given in Alice's client is never used for Bob's, and a choice is only remembered when the
// user asked. Capabilities a widget asks for later (renegotiation) are not in memory yet, so
// the user is asked about them.

export class RememberedApprovals {
  /** key → capability → approved or denied. */
  private readonly decisions = new Map<string, Map<string, boolean>>();

  /** The key of one widget in one client: its user, device, room and URL template. */
  static key(parts: {
    userId: string;
    deviceId: string;
    roomId: string | null;
    url: string;
  }): string {
    return JSON.stringify([parts.userId, parts.deviceId, parts.roomId, parts.url]);
  }

  /** What memory answers for `requested`, and what it has no answer for. */
  recall(
    key: string,
    requested: ReadonlySet<string>,
  ): { approved: Set<string>; undecided: Set<string> } {
    const known = this.decisions.get(key);
    const approved = new Set<string>();
    const undecided = new Set<string>();
    for (const capability of requested) {
      const decision = known?.get(capability);
      if (decision === undefined) undecided.add(capability);
      else if (decision) approved.add(capability);
    }
    return { approved, undecided };
  }

  /** Remembers the user's answer to each capability in `asked`. */
  remember(key: string, asked: ReadonlySet<string>, approved: ReadonlySet<string>): void {
    const known = this.decisions.get(key) ?? new Map<string, boolean>();
    for (const capability of asked) known.set(capability, approved.has(capability));
    this.decisions.set(key, known);
  }
}
