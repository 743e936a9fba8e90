DROP TABLE audit_entries;
DROP TABLE relations;
DROP TABLE dossier_types;
DROP TABLE credentials;
DROP TABLE organisations;
