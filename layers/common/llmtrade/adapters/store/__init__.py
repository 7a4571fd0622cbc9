"""Where things are kept: the event store (SQLite, DynamoDB), the HTML reports, and the keys."""
