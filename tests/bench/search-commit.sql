-- pgbench (search_latency.sh): one durable commit of a one-row insert, the least a search's
-- audit commit costs on this PostgreSQL (the service commits the waiting entries of many
-- searches together; at one client, every search waits for one such commit at least).
INSERT INTO bench_commit_floor (at) VALUES (now());
