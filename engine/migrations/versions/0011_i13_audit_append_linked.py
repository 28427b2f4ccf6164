"""audit (#13): on PostgreSQL, the first append of a transaction takes the chain lock, reads the
head, links and inserts its entries in one statement, ``audit_append_linked`` (see
``audit/chain.py``): the chain lock is then held for the INSERT and the COMMIT only, never across
a round trip to the application, and the statement's plans are cached by PL/pgSQL.

The function is VOLATILE, so the INSERT runs with a snapshot taken after the lock was granted and
reads the committed head, as a separate statement would. SECURITY INVOKER (the default): it
writes with the caller's privileges (the app role's INSERT on audit_entry); EXECUTE is revoked
from PUBLIC and granted to the app role by ``sealtrail db-grants`` (engine/dbroles.py).
The entries come as one JSON array of objects (one parameter; the server parses it in C). Each
link is ``sha256(prev_hash || head text || tail)``, where the client sends each entry's canonical
text up to its recorded time (``audit.canonical.entry_head``) and the server appends the tail
(recorded time, seq, format version 1); the client recomputes every returned link before its
transaction can commit.

Revision ID: 0011_i13_audit_append_linked
Revises: 0000_base
Create Date: 2026-12-06
"""
from alembic import op

revision = "0011_i13_audit_append_linked"
down_revision = "0000_base"
branch_labels = None
depends_on = ("0002_audit",)  # audit_entry

SIGNATURE = "audit_append_linked(bigint, json)"

FUNCTION = r"""
CREATE FUNCTION audit_append_linked(lock_key bigint, entries json)
RETURNS TABLE (seq bigint, id bigint, prev_hash text, hash text, recorded_at text)
LANGUAGE plpgsql VOLATILE AS $fn$
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    -- A statement of its own: its snapshot is taken after the lock was granted.
    RETURN QUERY
    WITH RECURSIVE input AS (
        SELECT * FROM json_to_recordset(entries)
            AS t(n bigint, event_id text, at text, fixed boolean, head text, actor_kind text, actor_id text,
                 actor_name text, action text, object_type text, object_id text, reason text, before text,
                 after text, payload text)
    ), top AS (
        SELECT e.seq, e.hash, e.recorded_at FROM audit_entry e ORDER BY e.seq DESC LIMIT 1
    ), link(n, seq, prev_hash, hash, recorded_at) AS (
        SELECT 0::bigint, top.seq::bigint, NULL::text, top.hash::text, top.recorded_at::text FROM top
        UNION ALL
        SELECT i.n, l.seq + 1, l.hash,
               encode(sha256(convert_to(l.hash || i.head || to_json(r.at)::text || ',"seq":'
                                        || (l.seq + 1)::text || ',"v":1}', 'UTF8')), 'hex'),
               r.at
        FROM link l JOIN input i ON i.n = l.n + 1
        CROSS JOIN LATERAL (SELECT CASE WHEN i.fixed THEN i.at
                                        ELSE GREATEST(i.at, l.recorded_at) END AS at) r
    ), written AS (
        INSERT INTO audit_entry (seq, event_id, recorded_at, actor_kind, actor_id, actor_name, action,
                                 object_type, object_id, reason, before, after, payload, prev_hash, hash)
        SELECT l.seq, i.event_id, l.recorded_at, i.actor_kind, i.actor_id, i.actor_name, i.action,
               i.object_type, i.object_id, i.reason, i.before, i.after, i.payload, l.prev_hash, l.hash
        FROM link l JOIN input i ON i.n = l.n
        RETURNING audit_entry.seq, audit_entry.id, audit_entry.prev_hash, audit_entry.hash,
                  audit_entry.recorded_at
    )
    SELECT w.seq::bigint, w.id::bigint, w.prev_hash::text, w.hash::text, w.recorded_at::text FROM written w;
END
$fn$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Through the driver as it is: SQLAlchemy's text() would read the ':1' of '"v":1' as a parameter.
    op.get_bind().exec_driver_sql(FUNCTION)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
