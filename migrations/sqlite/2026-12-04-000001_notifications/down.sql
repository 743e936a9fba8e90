DROP TABLE mail_summaries;
DROP INDEX deliveries_awaiting_expiry_notice;
DROP INDEX deliveries_awaiting_unread_notice;
ALTER TABLE deliveries DROP COLUMN expiry_notice_at;
ALTER TABLE deliveries DROP COLUMN unread_notice_at;
DROP TABLE email_messages;
DROP TABLE organisation_contacts;
