-- The last file sequence number of each receiver and file type, so that planning a run reads
-- one row per receiver rather than every file ever made.
CREATE TABLE batch_sequences (
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    file_type TEXT NOT NULL,
    last_sequence BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, file_type)
);
INSERT INTO batch_sequences (organisation_id, file_type, last_sequence)
    SELECT organisation_id, file_type, MAX(sequence_number) FROM batch_files
    GROUP BY organisation_id, file_type;
