"""The Broker and MarketData ports.

Alpaca (live), and the simulator with its own order ledger (offline).
"""
