"""What the steps share: placing orders, targets, recorded model calls, whether a run goes on."""
