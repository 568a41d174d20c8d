-- 0002_report_rollups.sql: per-day rollups of messages and votes for the admin reports.
--
-- Without them a report aggregates every row of its window: at 1M messages over 120 days a 90-day
-- summary took ~150 ms and the daily series ~450 ms on 2 cores. Report queries now read whole UTC
-- days from these tables and only the partial days at a window's edges from messages and feedback.
--   usage_daily: one row per UTC day and asker (exact unique-asker counts; rows = days x active askers).
--   daily_votes: one row per UTC day (of the question) and shard; shards spread concurrent voters.
--
-- Triggers keep both exact for every writer (this release, the previous one during a rolling deploy,
-- a retention DELETE, a bulk load). They are statement-level with transition tables, so a bulk INSERT
-- or DELETE does one grouped upsert rather than one per row; ORDER BY makes concurrent statements lock
-- shared rows in the same order. A message's created_at, user_id and kind never change (refused).

CREATE TABLE usage_daily (
    day       date    NOT NULL,  -- UTC date of messages.created_at
    user_id   text    NOT NULL,
    questions integer NOT NULL,
    answered  integer NOT NULL,
    not_found integer NOT NULL,
    PRIMARY KEY (day, user_id)
);

CREATE TABLE daily_votes (
    day   date     NOT NULL,  -- UTC date of feedback.asked_at
    shard smallint NOT NULL,  -- feedback.id % 16
    up    integer  NOT NULL,
    down  integer  NOT NULL,
    PRIMARY KEY (day, shard)
);

CREATE FUNCTION usage_daily_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO usage_daily AS u (day, user_id, questions, answered, not_found)
    SELECT (created_at AT TIME ZONE 'UTC')::date, user_id, count(*),
           count(*) FILTER (WHERE kind = 'answer'), count(*) FILTER (WHERE kind = 'not_found')
    FROM added_messages
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (day, user_id) DO UPDATE SET
        questions = u.questions + excluded.questions,
        answered = u.answered + excluded.answered,
        not_found = u.not_found + excluded.not_found;
    RETURN NULL;
END
$$;

CREATE FUNCTION usage_daily_subtract() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE usage_daily AS u SET
        questions = u.questions - gone.questions,
        answered = u.answered - gone.answered,
        not_found = u.not_found - gone.not_found
    FROM (
        SELECT (created_at AT TIME ZONE 'UTC')::date AS day, user_id, count(*) AS questions,
               count(*) FILTER (WHERE kind = 'answer') AS answered,
               count(*) FILTER (WHERE kind = 'not_found') AS not_found
        FROM removed_messages
        GROUP BY 1, 2
    ) AS gone
    WHERE u.day = gone.day AND u.user_id = gone.user_id;
    -- A row counts as an asker for its day, so it must not outlive the asker's last message.
    DELETE FROM usage_daily AS u
    WHERE u.questions <= 0
      AND (u.day, u.user_id) IN (SELECT (created_at AT TIME ZONE 'UTC')::date, user_id FROM removed_messages);
    RETURN NULL;
END
$$;

CREATE FUNCTION messages_refuse_rekey() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'messages.created_at, user_id and kind cannot change (usage_daily is keyed on them)'
        USING ERRCODE = 'check_violation';
END
$$;

-- One function for the three row events: each trigger names only the transition tables it has, and
-- PL/pgSQL plans a statement when it first runs, so a branch never touches a table its event lacks.
CREATE FUNCTION daily_votes_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO daily_votes AS d (day, shard, up, down)
        SELECT (asked_at AT TIME ZONE 'UTC')::date, id % 16, count(*) FILTER (WHERE rating = 1),
               count(*) FILTER (WHERE rating = -1)
        FROM new_votes
        GROUP BY 1, 2
        ORDER BY 1, 2
        ON CONFLICT (day, shard) DO UPDATE SET up = d.up + excluded.up, down = d.down + excluded.down;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO daily_votes AS d (day, shard, up, down)
        SELECT (asked_at AT TIME ZONE 'UTC')::date, id % 16, -count(*) FILTER (WHERE rating = 1),
               -count(*) FILTER (WHERE rating = -1)
        FROM old_votes
        GROUP BY 1, 2
        ORDER BY 1, 2
        ON CONFLICT (day, shard) DO UPDATE SET up = d.up + excluded.up, down = d.down + excluded.down;
    ELSE
        INSERT INTO daily_votes AS d (day, shard, up, down)
        SELECT day, shard, sum(up), sum(down)
        FROM (
            SELECT (asked_at AT TIME ZONE 'UTC')::date AS day, id % 16 AS shard,
                   (rating = 1)::int AS up, (rating = -1)::int AS down
            FROM new_votes
            UNION ALL
            SELECT (asked_at AT TIME ZONE 'UTC')::date, id % 16, -(rating = 1)::int, -(rating = -1)::int
            FROM old_votes
        ) AS delta
        GROUP BY 1, 2
        HAVING sum(up) <> 0 OR sum(down) <> 0
        ORDER BY 1, 2
        ON CONFLICT (day, shard) DO UPDATE SET up = d.up + excluded.up, down = d.down + excluded.down;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION rollups_reset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'messages' THEN
        TRUNCATE usage_daily;
    ELSE
        TRUNCATE daily_votes;
    END IF;
    RETURN NULL;
END
$$;

-- Triggers before the backfill: creating them locks out writers, so the backfill misses no row.
CREATE TRIGGER messages_usage_add AFTER INSERT ON messages
    REFERENCING NEW TABLE AS added_messages FOR EACH STATEMENT EXECUTE FUNCTION usage_daily_add();
CREATE TRIGGER messages_usage_subtract AFTER DELETE ON messages
    REFERENCING OLD TABLE AS removed_messages FOR EACH STATEMENT EXECUTE FUNCTION usage_daily_subtract();
CREATE TRIGGER messages_usage_reset AFTER TRUNCATE ON messages
    FOR EACH STATEMENT EXECUTE FUNCTION rollups_reset();
CREATE TRIGGER messages_refuse_rekey BEFORE UPDATE OF created_at, user_id, kind ON messages
    FOR EACH ROW
    WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.user_id IS DISTINCT FROM NEW.user_id
          OR OLD.kind IS DISTINCT FROM NEW.kind)
    EXECUTE FUNCTION messages_refuse_rekey();

CREATE TRIGGER feedback_votes_insert AFTER INSERT ON feedback
    REFERENCING NEW TABLE AS new_votes FOR EACH STATEMENT EXECUTE FUNCTION daily_votes_apply();
CREATE TRIGGER feedback_votes_update AFTER UPDATE ON feedback
    REFERENCING OLD TABLE AS old_votes NEW TABLE AS new_votes FOR EACH STATEMENT EXECUTE FUNCTION daily_votes_apply();
CREATE TRIGGER feedback_votes_delete AFTER DELETE ON feedback
    REFERENCING OLD TABLE AS old_votes FOR EACH STATEMENT EXECUTE FUNCTION daily_votes_apply();
CREATE TRIGGER feedback_votes_reset AFTER TRUNCATE ON feedback
    FOR EACH STATEMENT EXECUTE FUNCTION rollups_reset();

INSERT INTO usage_daily (day, user_id, questions, answered, not_found)
SELECT (created_at AT TIME ZONE 'UTC')::date, user_id, count(*),
       count(*) FILTER (WHERE kind = 'answer'), count(*) FILTER (WHERE kind = 'not_found')
FROM messages
GROUP BY 1, 2;

INSERT INTO daily_votes (day, shard, up, down)
SELECT (asked_at AT TIME ZONE 'UTC')::date, id % 16, count(*) FILTER (WHERE rating = 1),
       count(*) FILTER (WHERE rating = -1)
FROM feedback
GROUP BY 1, 2;
