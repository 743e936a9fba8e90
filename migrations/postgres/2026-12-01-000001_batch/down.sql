DROP TABLE batch_files;
DROP TABLE batch_runs;
DROP TABLE dimona_declarations;
DROP TABLE dimona_periods;
DROP TABLE subscription_dossier_types;
DROP TABLE subscriptions;
