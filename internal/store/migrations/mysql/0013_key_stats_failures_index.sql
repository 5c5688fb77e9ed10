-- SQLite and PostgreSQL replace the status index of gg_key_stats_hour with one of the failures alone
-- (a partial index). MySQL has no partial index and keeps the whole one: this version only keeps the
-- three dialects' migrations numbered alike.
DO 0;
