"""Status updates: the draft read from the timeline, destinations (Slack, Statuspage, a JSON
webhook, SMTP), delivery with bounded retries and an idempotency key, and the update cadence
(docs/communication.md)."""
