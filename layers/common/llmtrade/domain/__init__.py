"""Pure domain rules: no I/O, no clients. The parts worth property tests."""
