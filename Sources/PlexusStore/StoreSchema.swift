import GRDB

/// The store's schema as an ordered list of migrations (GRDB `DatabaseMigrator`).
/// Append new migrations; never edit a released one.
enum StoreSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-entries") { db in
            // `cursor` is the local receive order: what "since" means, never the author's clock.
            try db.execute(sql: """
                CREATE TABLE entries (
                    cursor INTEGER PRIMARY KEY AUTOINCREMENT,
                    id BLOB NOT NULL UNIQUE,
                    author BLOB NOT NULL,
                    seq INTEGER NOT NULL,
                    prev BLOB,
                    time_ms INTEGER NOT NULL,
                    type TEXT NOT NULL,
                    topic TEXT NOT NULL,
                    expires_ms INTEGER,
                    received_ms INTEGER NOT NULL,
                    body BLOB NOT NULL,
                    signature BLOB NOT NULL,
                    UNIQUE (author, seq)
                );
                CREATE INDEX entries_by_topic ON entries (topic, cursor);
                CREATE INDEX entries_by_type ON entries (type, cursor);
                CREATE INDEX entries_by_expiry ON entries (expires_ms) WHERE expires_ms IS NOT NULL;

                CREATE TABLE entry_tags (
                    cursor INTEGER NOT NULL REFERENCES entries (cursor) ON DELETE CASCADE,
                    tag TEXT NOT NULL,
                    PRIMARY KEY (tag, cursor)
                ) WITHOUT ROWID;
                CREATE INDEX entry_tags_by_cursor ON entry_tags (cursor);

                CREATE TABLE entry_refs (
                    cursor INTEGER NOT NULL REFERENCES entries (cursor) ON DELETE CASCADE,
                    ref BLOB NOT NULL,
                    PRIMARY KEY (ref, cursor)
                ) WITHOUT ROWID;
                CREATE INDEX entry_refs_by_cursor ON entry_refs (cursor);

                -- One row per author seen. head_seq is the highest seq up to which this node
                -- holds every entry (the linked prefix), max_seq the highest held; forked_seq
                -- is set once a fork is proven.
                CREATE TABLE authors (
                    author BLOB PRIMARY KEY,
                    head_seq INTEGER NOT NULL DEFAULT 0,
                    max_seq INTEGER NOT NULL DEFAULT 0,
                    forked_seq INTEGER
                ) WITHOUT ROWID;

                -- Two entries by one author that cannot both be in one feed: a signed proof.
                CREATE TABLE forks (
                    author BLOB NOT NULL,
                    seq INTEGER NOT NULL,
                    held_body BLOB NOT NULL,
                    held_signature BLOB NOT NULL,
                    conflicting_body BLOB NOT NULL,
                    conflicting_signature BLOB NOT NULL,
                    detected_ms INTEGER NOT NULL,
                    PRIMARY KEY (author, seq)
                ) WITHOUT ROWID;

                -- Deleted or expired entries, never accepted or fetched again.
                CREATE TABLE tombstones (
                    id BLOB PRIMARY KEY,
                    author BLOB NOT NULL,
                    seq INTEGER NOT NULL,
                    reason TEXT NOT NULL,
                    removed_ms INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX tombstones_by_author ON tombstones (author, seq);

                CREATE VIRTUAL TABLE entry_fts USING fts5 (
                    type, tags, text,
                    tokenize = 'porter unicode61'
                );
                """)
        }
        migrator.registerMigration("v2-peers") { db in
            // Mesh addresses to redial on restart, and who answered there last.
            try db.execute(sql: """
                CREATE TABLE peers (
                    address TEXT PRIMARY KEY,
                    agent_id BLOB,
                    added_ms INTEGER NOT NULL,
                    last_connected_ms INTEGER
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v3-replication") { db in
            // Per topic and author, the highest seq and how many entries this node holds or
            // has tombstoned (v4: held only, and the lowest seq): the heads anti-entropy
            // reconciles (PROTOCOL.md §8). The topic
            // is the replication topic ('mesh' for entries without one).
            try db.execute(sql: """
                CREATE TABLE topic_heads (
                    topic TEXT NOT NULL,
                    author BLOB NOT NULL,
                    max_seq INTEGER NOT NULL,
                    count INTEGER NOT NULL,
                    PRIMARY KEY (topic, author)
                ) WITHOUT ROWID;
                INSERT INTO topic_heads (topic, author, max_seq, count)
                    SELECT CASE topic WHEN '' THEN 'mesh' ELSE topic END, author, max(seq), count(*)
                    FROM entries GROUP BY 1, 2;
                CREATE INDEX entries_by_author_topic ON entries (author, topic, seq);

                ALTER TABLE tombstones ADD COLUMN topic TEXT NOT NULL DEFAULT 'mesh';

                -- Topics this node is in besides 'mesh', and the authors it stores (all when empty).
                CREATE TABLE subscriptions (
                    topic TEXT PRIMARY KEY,
                    added_ms INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE follows (
                    author BLOB PRIMARY KEY,
                    added_ms INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v4-offered-heads") { db in
            // Heads describe what a node offers (PROTOCOL.md §8): held entries only, with the
            // lowest seq held. Tombstones no longer count; the sync rules account for them.
            try db.execute(sql: """
                ALTER TABLE topic_heads ADD COLUMN min_seq INTEGER NOT NULL DEFAULT 0;
                DELETE FROM topic_heads;
                INSERT INTO topic_heads (topic, author, max_seq, count, min_seq)
                    SELECT CASE topic WHEN '' THEN 'mesh' ELSE topic END, author, max(seq), count(*), min(seq)
                    FROM entries GROUP BY 1, 2;
                CREATE INDEX tombstones_by_author_topic ON tombstones (author, topic, seq);
                """)
        }
        migrator.registerMigration("v5-arrival") { db in
            // How each entry came here (Arrival): hooks run for live arrivals only. Entries
            // stored before this was recorded count as submitted.
            try db.execute(sql: "ALTER TABLE entries ADD COLUMN arrival INTEGER NOT NULL DEFAULT 1")
        }
        migrator.registerMigration("v6-groups") { db in
            // The private groups this node is in (PROTOCOL.md §13), and the epoch keys it
            // opened, each sealed under the node's key (never in plaintext).
            try db.execute(sql: """
                CREATE TABLE groups (
                    id BLOB PRIMARY KEY,
                    topic TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    added_ms INTEGER NOT NULL,
                    welcomed_by BLOB
                );
                CREATE TABLE group_keys (
                    group_id BLOB NOT NULL,
                    epoch BLOB NOT NULL,
                    sealed BLOB NOT NULL,
                    PRIMARY KEY (group_id, epoch)
                );
                """)
        }
        migrator.registerMigration("v7-forgotten-peers") { db in
            // An address a user removed stays forgotten: a later dial by the gossip overlay
            // does not remember it again (only an explicit connect does).
            try db.execute(sql: "ALTER TABLE peers ADD COLUMN forgotten INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v8-retention") { db in
            // Retention policies added at run time (those in config.yaml are not stored), and
            // an index for sweeping by receive time.
            try db.execute(sql: """
                CREATE TABLE retention_policies (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    topic TEXT,
                    author BLOB,
                    max_age_s INTEGER,
                    max_count INTEGER,
                    compact_key TEXT,
                    created_ms INTEGER NOT NULL
                );
                CREATE INDEX entries_by_received ON entries (received_ms);
                """)
        }
        migrator.registerMigration("v9-deletes-and-marks") { db in
            // A tombstone keeps the entry's prev as well (with seq and id, the stub that keeps
            // an author's chain verifiable after a delete), and per replication topic and
            // author the low-water mark old tombstones collapse into (PROTOCOL.md §8).
            try db.execute(sql: """
                ALTER TABLE tombstones ADD COLUMN prev BLOB;
                CREATE INDEX tombstones_by_removed ON tombstones (removed_ms);
                CREATE TABLE feed_marks (
                    topic TEXT NOT NULL,
                    author BLOB NOT NULL,
                    retained_from INTEGER NOT NULL,
                    PRIMARY KEY (topic, author)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v10-blobs") { db in
            // Blobs held here (their bytes are files beside the database) and the entries
            // that reference them, which keep them from collection (PROTOCOL.md §15).
            try db.execute(sql: """
                CREATE TABLE blobs (
                    id BLOB PRIMARY KEY,
                    size INTEGER NOT NULL,
                    chunk_size INTEGER NOT NULL,
                    digests BLOB NOT NULL,
                    pinned INTEGER NOT NULL DEFAULT 0,
                    added_ms INTEGER NOT NULL,
                    used_ms INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE blob_refs (
                    blob BLOB NOT NULL,
                    cursor INTEGER NOT NULL,
                    PRIMARY KEY (blob, cursor)
                ) WITHOUT ROWID;
                CREATE INDEX blob_refs_by_cursor ON blob_refs (cursor);
                """)
        }
        migrator.registerMigration("v11-contacts") { db in
            // The agents an operator named, and how far each is trusted (DESIGN §15).
            try db.execute(sql: """
                CREATE TABLE contacts (
                    agent BLOB PRIMARY KEY,
                    name TEXT,
                    trust TEXT NOT NULL,
                    added_ms INTEGER NOT NULL,
                    updated_ms INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v12-direct-messages") { db in
            // Direct messages sent and received (PROTOCOL.md §16), ciphertext only: a
            // received one as it arrived (sealed to this agent), a sent one sealed to this
            // agent too, plus the signed frame while it waits in the outbox.
            try db.execute(sql: """
                CREATE TABLE direct_messages (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id BLOB NOT NULL,
                    peer BLOB NOT NULL,
                    outgoing INTEGER NOT NULL,
                    time_ms INTEGER NOT NULL,
                    received_ms INTEGER NOT NULL,
                    sealed BLOB NOT NULL,
                    state TEXT NOT NULL,
                    read_ms INTEGER,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_ms INTEGER,
                    expires_ms INTEGER,
                    last_error TEXT,
                    frame BLOB,
                    UNIQUE (peer, id, outgoing)
                );
                CREATE INDEX direct_by_peer ON direct_messages (peer, seq);
                CREATE INDEX direct_outbox ON direct_messages (next_attempt_ms) WHERE state = 'pending';
                """)
        }
        return migrator
    }
}
