DROP TABLE batch_sequences;
