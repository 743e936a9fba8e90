ALTER TABLE audit_entries DROP COLUMN target;
DROP TABLE mailbox_events;
DROP TABLE deliveries;
DROP TABLE documents;
