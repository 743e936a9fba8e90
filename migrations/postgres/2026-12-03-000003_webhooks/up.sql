-- Webhooks (Standard Webhooks): an organisation's endpoints, and the durable outbox of the
-- messages owed to them, one per endpoint and mailbox event, written in the transaction
-- that appends the event. A message's body is rebuilt from its event (immutable), so every
-- attempt sends the same bytes under the same webhook-id.
CREATE TABLE webhook_endpoints (
    id BIGSERIAL PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    url TEXT NOT NULL,
    -- Space-separated event types, with a space before and after each.
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    -- After a rotation, the previous secret also signs until previous_until.
    previous_secret TEXT,
    previous_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    -- The first failure of the current run of failures; cleared by a success.
    failing_since TIMESTAMP,
    disabled_at TIMESTAMP,
    removed_at TIMESTAMP
);
CREATE INDEX webhook_endpoints_by_organisation ON webhook_endpoints (organisation_id);

CREATE TABLE webhook_messages (
    id BIGSERIAL PRIMARY KEY,
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id),
    event_seq BIGINT NOT NULL REFERENCES mailbox_events (seq),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    -- A process sending it holds it until then.
    claimed_until TIMESTAMP,
    delivered_at TIMESTAMP,
    gave_up_at TIMESTAMP,
    last_error TEXT,
    UNIQUE (endpoint_id, event_seq)
);
CREATE INDEX webhook_messages_due ON webhook_messages (next_attempt_at)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;
