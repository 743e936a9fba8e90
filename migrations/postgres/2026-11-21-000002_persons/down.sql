DROP INDEX relations_by_ssin;
DROP TABLE applied_files;
DROP TABLE grants;
DROP TABLE mutation_journal;
DROP TABLE persons;
