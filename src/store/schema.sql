-- The run store of one search (runs/<name>/xnas.db). See src/store/mod.rs for what each table is for.
-- Times are Unix seconds (REAL); JSON columns hold serde_json text.

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The one run this database holds.
CREATE TABLE IF NOT EXISTS run (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    name         TEXT NOT NULL,
    config       TEXT NOT NULL,   -- the experiment spec as JSON
    seeds        TEXT NOT NULL,   -- JSON object, e.g. {"search": 1, "training": 0}
    script_path  TEXT,
    created      REAL NOT NULL,
    xnas_version TEXT NOT NULL
);

-- Every version of the script (and the modules it imported) the run has used.
CREATE TABLE IF NOT EXISTS script_versions (
    id      INTEGER PRIMARY KEY,
    hash    TEXT NOT NULL UNIQUE,
    text    TEXT NOT NULL,        -- the main script
    sources TEXT NOT NULL,        -- JSON list of every source file {name, path, text}
    config  TEXT NOT NULL,        -- the experiment spec of this version as JSON
    created REAL NOT NULL
);

-- Every evaluation: a candidate trained (or to be trained) under one training configuration.
CREATE TABLE IF NOT EXISTS evaluations (
    id             INTEGER PRIMARY KEY,
    candidate      INTEGER NOT NULL,   -- the search's candidate id
    genome         TEXT NOT NULL,      -- six paper op codes
    canonical      TEXT NOT NULL,      -- NAS-Bench-201 canonical form (isomorphism class)
    training_hash  TEXT NOT NULL,
    parents        TEXT NOT NULL,      -- JSON list of candidate ids
    generation     INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    script_version INTEGER NOT NULL REFERENCES script_versions(id),
    attempt        INTEGER NOT NULL DEFAULT 0,
    device         TEXT,
    record         TEXT,               -- the MeasurementRecord as JSON
    error          TEXT,
    reused_from    INTEGER REFERENCES evaluations(id),
    queued_at      REAL NOT NULL,
    started_at     REAL,
    finished_at    REAL,
    train_seconds  REAL,
    eval_seconds   REAL
);
CREATE INDEX IF NOT EXISTS evaluations_by_status ON evaluations(status);
CREATE INDEX IF NOT EXISTS evaluations_by_genome ON evaluations(training_hash, genome, status);
CREATE INDEX IF NOT EXISTS evaluations_by_canonical ON evaluations(training_hash, canonical, status);
CREATE INDEX IF NOT EXISTS evaluations_by_candidate ON evaluations(candidate);

-- Objective values of an evaluation under a script version (re-scoring adds rows, never edits).
CREATE TABLE IF NOT EXISTS scores (
    evaluation     INTEGER NOT NULL REFERENCES evaluations(id),
    script_version INTEGER NOT NULL REFERENCES script_versions(id),
    objectives     TEXT,               -- JSON list of numbers; NULL when scoring failed
    error          TEXT,
    scored_at      REAL NOT NULL,
    PRIMARY KEY (evaluation, script_version)
);

-- Each finished generation: its population and the search state to resume from.
CREATE TABLE IF NOT EXISTS generations (
    generation     INTEGER PRIMARY KEY,
    population     TEXT NOT NULL,      -- JSON list of candidate ids
    search_state   TEXT NOT NULL,      -- the search's serialised state (e.g. Nsga2 JSON)
    script_version INTEGER NOT NULL REFERENCES script_versions(id),
    saved_at       REAL NOT NULL
);

-- Hypervolume of a generation's population under a script version's objectives.
CREATE TABLE IF NOT EXISTS hypervolumes (
    generation     INTEGER NOT NULL REFERENCES generations(generation),
    script_version INTEGER NOT NULL REFERENCES script_versions(id),
    value          REAL NOT NULL,
    PRIMARY KEY (generation, script_version)
);

-- Schema version 2 (added to version-1 databases on open).

-- Every attempt at an evaluation: where it ran and how it ended. An evaluation is retried when
-- its process, worker or node dies, or its process exits without a record.
CREATE TABLE IF NOT EXISTS attempts (
    evaluation  INTEGER NOT NULL REFERENCES evaluations(id),
    attempt     INTEGER NOT NULL,   -- 1, 2, ...
    worker      TEXT,               -- cpu#0, cuda:1#0, a Ray node's address and GPU ids
    started_at  REAL NOT NULL,
    finished_at REAL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('running', 'done', 'failed', 'error', 'lost', 'cancelled', 'interrupted')),
    error       TEXT,
    PRIMARY KEY (evaluation, attempt)
);

-- The latest search state of a steady-state run (saved after every ask and tell, so that a
-- resumed run knows every candidate in flight). Generational runs resume from `generations`.
CREATE TABLE IF NOT EXISTS checkpoint (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    search_state TEXT NOT NULL,
    saved_at     REAL NOT NULL
);
