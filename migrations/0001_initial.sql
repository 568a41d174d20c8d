-- 0001_initial.sql: Endy's first schema (users and roles, conversations, answered questions, feedback).
--
-- Rules for every migration. Two or more replicas run Endy and a rolling deploy keeps release N serving
-- on the schema that release N+1 has just migrated, so each file must leave release N working:
--   * Never edit a file after it has been applied anywhere: the runner refuses it (checksum). Add a new
--     NNNN_name.sql instead. Files are forward-only; there are no down migrations.
--   * Additive only: new tables, new indexes, new columns that are NULL-able or have a DEFAULT, wider
--     CHECKs. No DROP or RENAME of a column or table, no type change, no new NOT NULL or CHECK that
--     release N could violate. To remove or reshape something: stop using it in one release and drop
--     it in a later one (expand, migrate, contract).
--   * Code always names its columns (no SELECT *, no INSERT without a column list), so a column added
--     by a later release is invisible to an earlier one.
--   * A file runs in one transaction together with its schema_migrations row: no BEGIN/COMMIT and no
--     CREATE INDEX CONCURRENTLY here. For a big live table, build the index CONCURRENTLY by hand first
--     and write the migration with IF NOT EXISTS.
--   * Times are timestamptz (stored UTC). Slack ids are text. team_id is '' when unknown (the CLI).
--   * Text limits are enforced by services/storage (truncated with a visible marker), not by column
--     types, so an oversized value is never rejected by the database.

CREATE TABLE slack_users (
    team_id      text        NOT NULL DEFAULT '',
    user_id      text        NOT NULL,
    role         text        NOT NULL DEFAULT 'user' CONSTRAINT slack_users_role_check CHECK (role IN ('admin', 'user')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- Refreshed at most hourly by record_exchange, so a chatty user does not rewrite the row per message.
    last_seen_at timestamptz,
    PRIMARY KEY (team_id, user_id)
);

CREATE INDEX slack_users_admins_idx ON slack_users (team_id, user_id) WHERE role = 'admin';

-- Append-only audit of role changes; written in the same transaction as the change itself.
CREATE TABLE role_changes (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id    text        NOT NULL,
    target_id  text        NOT NULL,
    actor_id   text        NOT NULL,  -- Slack user id of the admin, or e.g. 'cli'
    old_role   text        NOT NULL,
    new_role   text        NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX role_changes_target_idx ON role_changes (team_id, target_id, changed_at);

-- A Slack thread (or a DM/slash/CLI exchange without one). Follow-ups in the same thread share a row.
CREATE TABLE conversations (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    surface    text        NOT NULL CONSTRAINT conversations_surface_check
                           CHECK (surface IN ('dm', 'mention', 'slash', 'cli')),
    team_id    text        NOT NULL DEFAULT '',
    channel_id text,
    thread_ts  text,
    user_id    text        NOT NULL,  -- who started it
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT conversations_thread_needs_channel CHECK (thread_ts IS NULL OR channel_id IS NOT NULL)
);

CREATE UNIQUE INDEX conversations_thread_key ON conversations (team_id, channel_id, thread_ts)
    WHERE thread_ts IS NOT NULL;

-- One answered question. The question is PII-masked by the caller before it gets here.
CREATE TABLE messages (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id        uuid        NOT NULL CONSTRAINT messages_request_id_key UNIQUE,  -- idempotency key
    conversation_id   bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id           text        NOT NULL,
    question          text        NOT NULL,
    answer            text        NOT NULL,
    kind              text        NOT NULL CONSTRAINT messages_kind_check CHECK (kind IN ('answer', 'not_found')),
    sources           jsonb       NOT NULL DEFAULT '[]'
                                  CONSTRAINT messages_sources_is_array CHECK (jsonb_typeof(sources) = 'array'),
    confidence        real        NOT NULL,
    used_llm          boolean     NOT NULL DEFAULT false,
    llm_failed        boolean     NOT NULL DEFAULT false,
    model             text,
    prompt_tokens     integer     NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens integer     NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    latency_ms        integer     NOT NULL DEFAULT 0 CHECK (latency_ms >= 0),
    category          text,
    department        text,        -- knowledge-base department key (owner, or whom to ask when not found)
    kb_version        text        NOT NULL,
    channel_id        text,        -- where the bot's reply lives, with reply_ts (set by attach_reply)
    reply_ts          text,
    created_at        timestamptz NOT NULL DEFAULT now()
);

-- Reports (summary, daily) read only these columns: an index-only scan over the window.
CREATE INDEX messages_created_at_idx ON messages (created_at) INCLUDE (user_id, kind);
-- The low-confidence report; its query repeats this predicate so the planner can use the index, and
-- report thresholds up to 0.6 are served by it (higher ones fall back to messages_created_at_idx).
CREATE INDEX messages_low_confidence_idx ON messages (created_at)
    WHERE kind = 'not_found' OR confidence < 0.6;
CREATE INDEX messages_conversation_idx ON messages (conversation_id, created_at);
-- Reactions and buttons arrive with the reply's (channel, ts): find the message they are about.
CREATE UNIQUE INDEX messages_reply_key ON messages (channel_id, reply_ts) WHERE reply_ts IS NOT NULL;

-- One vote per user per message; re-voting updates the row.
CREATE TABLE feedback (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id bigint      NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    -- Copy of messages.created_at (which never changes): reports attribute a vote to the period in which
    -- the question was asked and can do so from this table alone, without a join over the window.
    asked_at   timestamptz NOT NULL,
    team_id    text        NOT NULL DEFAULT '',
    user_id    text        NOT NULL,
    rating     smallint    NOT NULL CONSTRAINT feedback_rating_check CHECK (rating IN (-1, 1)),
    via        text        NOT NULL CONSTRAINT feedback_via_check CHECK (via IN ('reaction', 'button')),
    reasons    text[]      NOT NULL DEFAULT '{}',
    comment    text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT feedback_one_vote_key UNIQUE (message_id, team_id, user_id)
);

CREATE INDEX feedback_asked_at_idx ON feedback (asked_at) INCLUDE (rating);
CREATE INDEX feedback_negative_idx ON feedback (asked_at) WHERE rating = -1;
