-- 0004_learning.sql: knowledge learned in Slack (issue 16): curated FAQ entries, learned phrasings, synonyms,
-- the gaps they closed, votes that teach, opt-in "tell me when answered" subscriptions, and an audit of all.
--
-- Every teaching table has a natural unique key (the normalised text), so a double click, a Slack retry or a
-- modal submitted twice inserts nothing the second time (INSERT … ON CONFLICT DO NOTHING). Question texts are
-- PII-masked by the caller; *_key columns hold services/cache.normalise_question of the masked text.

-- A gap group as last listed to an admin (its questions are what "이 문서가 답이에요" teaches).
CREATE TABLE learning_gaps (
    gap_key        text        PRIMARY KEY,
    example        text        NOT NULL,
    questions      text[]      NOT NULL DEFAULT '{}',
    asked          integer     NOT NULL DEFAULT 0,
    negative       integer     NOT NULL DEFAULT 0,
    department     text,
    first_seen     timestamptz NOT NULL DEFAULT now(),
    last_listed    timestamptz NOT NULL DEFAULT now(),
    state          text        NOT NULL DEFAULT 'open'
                               CONSTRAINT learning_gaps_state_check CHECK (state IN ('open', 'closed', 'ignored')),
    closed_at      timestamptz,
    closed_by      text,
    closed_how     text        -- 'phrasing', 'faq', 'synonym' or 'ignored'
);

-- A question that left the gap list (answered by what was learned, or ignored): never listed again.
CREATE TABLE learning_question_states (
    question_key text        PRIMARY KEY,
    gap_key      text        NOT NULL,
    state        text        NOT NULL CONSTRAINT learning_question_states_check CHECK (state IN ('closed', 'ignored')),
    changed_at   timestamptz NOT NULL DEFAULT now()
);

-- A question taught to a knowledge-base section (handbook or FAQ), by an admin or by 👍 votes.
CREATE TABLE learned_phrasings (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    section_id  text        NOT NULL,
    phrasing    text        NOT NULL,
    phrasing_key text       NOT NULL,
    -- Near words of the phrasing's own (lexicon group members, Kiwi word-vector neighbours), fixed when it was
    -- taught, so every replica indexes the same thing and a paraphrase with a near word still finds it.
    keywords    text[]      NOT NULL DEFAULT '{}',
    origin      text        NOT NULL CONSTRAINT learned_phrasings_origin_check CHECK (origin IN ('admin', 'votes', 'import')),
    gap_key     text,
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT learned_phrasings_key UNIQUE (section_id, phrasing_key)
);

CREATE INDEX learned_phrasings_section_idx ON learned_phrasings (section_id, created_at);

-- A curated FAQ entry written in Slack ("답변 작성").
CREATE TABLE learned_faq (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    question     text        NOT NULL,
    question_key text        NOT NULL CONSTRAINT learned_faq_question_key UNIQUE,
    answer       text        NOT NULL,
    category     text,
    department   text,
    link         text,
    keywords     text[]      NOT NULL DEFAULT '{}',
    origin       text        NOT NULL CONSTRAINT learned_faq_origin_check CHECK (origin IN ('admin', 'import')),
    gap_key      text,
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- A question word accepted as a synonym of a knowledge word (야근 → 연장근무).
CREATE TABLE learned_synonyms (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    word           text        NOT NULL,
    word_key       text        NOT NULL,
    knowledge_word text        NOT NULL,
    knowledge_key  text        NOT NULL,
    origin         text        NOT NULL CONSTRAINT learned_synonyms_origin_check CHECK (origin IN ('admin', 'import')),
    gap_key        text,
    created_by     text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT learned_synonyms_key UNIQUE (word_key, knowledge_key)
);

-- Append-only: every change to learned knowledge, written in the same transaction as the change.
CREATE TABLE learning_audit (
    id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    team_id   text        NOT NULL DEFAULT '',
    actor_id  text        NOT NULL,  -- Slack user id, 'votes' or 'cli'
    action    text        NOT NULL,  -- teach, faq, synonym, ignore, remove, vote_learn, demote, import
    kind      text,
    entry_id  bigint,
    gap_key   text,
    detail    jsonb       NOT NULL DEFAULT '{}'
);

CREATE INDEX learning_audit_at_idx ON learning_audit (at);

-- One vote per person per (question, cited section): "votes teach" counts distinct people.
CREATE TABLE learning_votes (
    question_key text        NOT NULL,
    question     text        NOT NULL,
    section_id   text        NOT NULL,
    team_id      text        NOT NULL DEFAULT '',
    user_id      text        NOT NULL,
    rating       smallint    NOT NULL CONSTRAINT learning_votes_rating_check CHECK (rating IN (-1, 1)),
    reasons      text[]      NOT NULL DEFAULT '{}',
    voted_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (question_key, section_id, team_id, user_id)
);

-- "다른 문서가 필요해요": this section is not the answer to this question (never learned from votes again).
CREATE TABLE learning_demotions (
    question_key text        NOT NULL,
    section_id   text        NOT NULL,
    demoted_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (question_key, section_id)
);

-- "답이 생기면 알려 주세요": opt-in per question; notified_at is set once, by the replica that sends the DM.
CREATE TABLE learning_subscriptions (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id      text        NOT NULL DEFAULT '',
    user_id      text        NOT NULL,
    question     text        NOT NULL,
    question_key text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    notified_at  timestamptz,
    CONSTRAINT learning_subscriptions_key UNIQUE (team_id, user_id, question_key)
);

CREATE INDEX learning_subscriptions_pending_idx ON learning_subscriptions (question_key) WHERE notified_at IS NULL;
