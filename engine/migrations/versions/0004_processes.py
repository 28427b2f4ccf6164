"""processes: change requests, deviations, lot holds, CAPA, release reviews, audit reviews.

Revision ID: 0004_processes
Revises: 0000_base
Create Date: 2026-11-26 15:34:48.446246
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_processes'
down_revision = '0000_base'
branch_labels = None
depends_on = '0001_foundation'


def upgrade() -> None:
    op.create_table('audit_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_instance_id', sa.Integer(), nullable=True),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('on_demand', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('head_seq', sa.BigInteger(), nullable=True),
    sa.Column('head_hash', sa.String(length=64), nullable=True),
    sa.Column('events', sa.JSON(), nullable=True),
    sa.Column('findings', sa.JSON(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('deviation_ids', sa.JSON(), nullable=True),
    sa.Column('assembled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recorded_by', sa.String(length=200), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('scheduled', 'assembled', 'recorded')", name=op.f('ck_audit_reviews_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_reviews'))
    )
    with op.batch_alter_table('audit_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_reviews_process_instance_id'), ['process_instance_id'], unique=False)

    op.create_table('change_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('process_instance_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('changed_objects', sa.JSON(), nullable=False),
    sa.Column('impact', sa.JSON(), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=True),
    sa.Column('risk_level', sa.String(length=16), nullable=True),
    sa.Column('risk_assessment', sa.Text(), nullable=True),
    sa.Column('validation_required', sa.Boolean(), nullable=True),
    sa.Column('validation_plan', sa.Text(), nullable=True),
    sa.Column('regulatory_notification_required', sa.Boolean(), nullable=True),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('implemented_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejections', sa.Integer(), nullable=False),
    sa.Column('verification_result', sa.String(length=16), nullable=True),
    sa.Column('verification_notes', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('submitted', 'assessed', 'rejected', 'approved', 'implemented', 'closed', 'withdrawn')", name=op.f('ck_change_requests_status')),
    sa.CheckConstraint("urgency IN ('routine', 'urgent', 'emergency')", name=op.f('ck_change_requests_urgency')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_requests')),
    sa.UniqueConstraint('number', name=op.f('uq_change_requests_number')),
    sa.UniqueConstraint('process_instance_id', name=op.f('uq_change_requests_process_instance_id'))
    )
    op.create_table('change_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('change_request_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('revision_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=16), nullable=False),
    sa.Column('replaces_label', sa.String(length=16), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('product', 'bom', 'routing', 'document')", name=op.f('ck_change_revisions_kind')),
    sa.ForeignKeyConstraint(['change_request_id'], ['change_requests.id'], name=op.f('fk_change_revisions_change_request_id_change_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_revisions')),
    sa.UniqueConstraint('change_request_id', 'kind', 'revision_id', name=op.f('uq_change_revisions_change_request_id_kind_revision_id'))
    )
    with op.batch_alter_table('change_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_revisions_change_request_id'), ['change_request_id'], unique=False)

    op.create_table('release_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('process_instance_id', sa.Integer(), nullable=True),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('checks', sa.JSON(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('computed_by', sa.String(length=200), nullable=False),
    sa.Column('reviewed_by', sa.String(length=200), nullable=True),
    sa.Column('review_comment', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_comment', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'superseded', 'released', 'rejected')", name=op.f('ck_release_reviews_status')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_release_reviews_lot_id_lots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_release_reviews'))
    )
    with op.batch_alter_table('release_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_release_reviews_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_release_reviews_process_instance_id'), ['process_instance_id'], unique=False)

    op.create_table('deviations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('process_instance_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.Column('routing_operation_id', sa.Integer(), nullable=True),
    sa.Column('parameter_id', sa.Integer(), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('unit', sa.String(length=32), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('classification', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('triage_rationale', sa.Text(), nullable=True),
    sa.Column('investigation_summary', sa.Text(), nullable=True),
    sa.Column('root_cause', sa.Text(), nullable=True),
    sa.Column('capa_required', sa.Boolean(), nullable=True),
    sa.Column('raised_by', sa.String(length=200), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("classification IS NULL OR classification IN ('minor', 'major', 'critical')", name=op.f('ck_deviations_classification')),
    sa.CheckConstraint("status IN ('open', 'contained', 'dispositioned', 'approved', 'closed')", name=op.f('ck_deviations_status')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_deviations_lot_id_lots')),
    sa.ForeignKeyConstraint(['parameter_id'], ['operation_parameters.id'], name=op.f('fk_deviations_parameter_id_operation_parameters')),
    sa.ForeignKeyConstraint(['routing_operation_id'], ['routing_operations.id'], name=op.f('fk_deviations_routing_operation_id_routing_operations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deviations')),
    sa.UniqueConstraint('number', name=op.f('uq_deviations_number')),
    sa.UniqueConstraint('process_instance_id', name=op.f('uq_deviations_process_instance_id'))
    )
    with op.batch_alter_table('deviations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deviations_lot_id'), ['lot_id'], unique=False)

    op.create_table('capas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('process_instance_id', sa.Integer(), nullable=True),
    sa.Column('source_type', sa.String(length=16), nullable=False),
    sa.Column('source_reference', sa.String(length=100), nullable=False),
    sa.Column('deviation_id', sa.Integer(), nullable=True),
    sa.Column('problem_statement', sa.Text(), nullable=False),
    sa.Column('effectiveness_days', sa.Integer(), nullable=False),
    sa.Column('five_whys', sa.JSON(), nullable=True),
    sa.Column('fishbone', sa.JSON(), nullable=True),
    sa.Column('root_cause', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('escalations', sa.Integer(), nullable=False),
    sa.Column('reopened', sa.Integer(), nullable=False),
    sa.Column('implemented_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('effective', sa.Boolean(), nullable=True),
    sa.Column('effectiveness_evidence', sa.Text(), nullable=True),
    sa.Column('opened_by', sa.String(length=200), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("source_type IN ('deviation', 'complaint', 'audit_finding', 'trend', 'other')", name=op.f('ck_capas_source_type')),
    sa.CheckConstraint("status IN ('open', 'planned', 'implemented', 'closed')", name=op.f('ck_capas_status')),
    sa.CheckConstraint('effectiveness_days > 0', name=op.f('ck_capas_effectiveness_days_positive')),
    sa.ForeignKeyConstraint(['deviation_id'], ['deviations.id'], name=op.f('fk_capas_deviation_id_deviations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_capas')),
    sa.UniqueConstraint('number', name=op.f('uq_capas_number'))
    )
    with op.batch_alter_table('capas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_capas_deviation_id'), ['deviation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_capas_process_instance_id'), ['process_instance_id'], unique=False)

    op.create_table('lot_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('deviation_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status_before', sa.String(length=16), nullable=False),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('held_by', sa.String(length=200), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_by', sa.String(length=200), nullable=True),
    sa.Column('release_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['deviation_id'], ['deviations.id'], name=op.f('fk_lot_holds_deviation_id_deviations')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_lot_holds_lot_id_lots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot_holds'))
    )
    with op.batch_alter_table('lot_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lot_holds_deviation_id'), ['deviation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lot_holds_lot_id'), ['lot_id'], unique=False)

    op.create_table('release_exceptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('check_code', sa.String(length=64), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('action', sa.String(length=24), nullable=True),
    sa.Column('justification', sa.Text(), nullable=True),
    sa.Column('deviation_id', sa.Integer(), nullable=True),
    sa.Column('dispositioned_by', sa.String(length=200), nullable=True),
    sa.Column('dispositioned_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("action IS NULL OR action IN ('justified', 'raise_deviation')", name=op.f('ck_release_exceptions_action')),
    sa.ForeignKeyConstraint(['deviation_id'], ['deviations.id'], name=op.f('fk_release_exceptions_deviation_id_deviations')),
    sa.ForeignKeyConstraint(['review_id'], ['release_reviews.id'], name=op.f('fk_release_exceptions_review_id_release_reviews')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_release_exceptions')),
    sa.UniqueConstraint('review_id', 'key', name=op.f('uq_release_exceptions_review_id_key'))
    )
    with op.batch_alter_table('release_exceptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_release_exceptions_review_id'), ['review_id'], unique=False)

    op.create_table('capa_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('capa_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('superseded', sa.Boolean(), nullable=False),
    sa.CheckConstraint("kind IN ('corrective', 'preventive')", name=op.f('ck_capa_actions_kind')),
    sa.ForeignKeyConstraint(['capa_id'], ['capas.id'], name=op.f('fk_capa_actions_capa_id_capas')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_capa_actions_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_capa_actions'))
    )
    with op.batch_alter_table('capa_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_capa_actions_capa_id'), ['capa_id'], unique=False)

    op.create_table('deviation_lots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deviation_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('hold_id', sa.Integer(), nullable=True),
    sa.Column('disposition', sa.String(length=24), nullable=True),
    sa.Column('justification', sa.Text(), nullable=True),
    sa.Column('rework_instructions', sa.Text(), nullable=True),
    sa.Column('dispositioned_by', sa.String(length=200), nullable=True),
    sa.Column('dispositioned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("disposition IS NULL OR disposition IN ('use_as_is', 'rework', 'scrap', 'return_to_supplier')", name=op.f('ck_deviation_lots_disposition')),
    sa.ForeignKeyConstraint(['deviation_id'], ['deviations.id'], name=op.f('fk_deviation_lots_deviation_id_deviations')),
    sa.ForeignKeyConstraint(['hold_id'], ['lot_holds.id'], name=op.f('fk_deviation_lots_hold_id_lot_holds')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_deviation_lots_lot_id_lots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deviation_lots')),
    sa.UniqueConstraint('deviation_id', 'lot_id', name=op.f('uq_deviation_lots_deviation_id_lot_id'))
    )
    with op.batch_alter_table('deviation_lots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deviation_lots_deviation_id'), ['deviation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deviation_lots_lot_id'), ['lot_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('deviation_lots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deviation_lots_lot_id'))
        batch_op.drop_index(batch_op.f('ix_deviation_lots_deviation_id'))

    op.drop_table('deviation_lots')
    with op.batch_alter_table('capa_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_capa_actions_capa_id'))

    op.drop_table('capa_actions')
    with op.batch_alter_table('release_exceptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_release_exceptions_review_id'))

    op.drop_table('release_exceptions')
    with op.batch_alter_table('lot_holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lot_holds_lot_id'))
        batch_op.drop_index(batch_op.f('ix_lot_holds_deviation_id'))

    op.drop_table('lot_holds')
    with op.batch_alter_table('capas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_capas_process_instance_id'))
        batch_op.drop_index(batch_op.f('ix_capas_deviation_id'))

    op.drop_table('capas')
    with op.batch_alter_table('deviations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deviations_lot_id'))

    op.drop_table('deviations')
    with op.batch_alter_table('release_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_release_reviews_process_instance_id'))
        batch_op.drop_index(batch_op.f('ix_release_reviews_lot_id'))

    op.drop_table('release_reviews')
    with op.batch_alter_table('change_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_revisions_change_request_id'))

    op.drop_table('change_revisions')
    op.drop_table('change_requests')
    with op.batch_alter_table('audit_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_reviews_process_instance_id'))

    op.drop_table('audit_reviews')
