DROP INDEX relations_by_ssin;
CREATE INDEX relations_by_ssin ON relations (ssin);
