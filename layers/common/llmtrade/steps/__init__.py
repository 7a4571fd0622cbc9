"""Steps: pure orchestration of ports and domain rules, one function per workflow action."""
