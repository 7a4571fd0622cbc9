"""What the steps share: placing orders, targets, recorded model calls, and whether a run goes on."""
