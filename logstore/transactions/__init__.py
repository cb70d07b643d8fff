"""The transaction coordinator: transactional ids, their state machine and durable log."""
