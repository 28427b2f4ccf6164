"""foundation: users, roles, training, versioned master data, production records.

On PostgreSQL, triggers make released revisions (and their child rows) immutable and
measurements, inspection results and equipment logs append-only, for raw SQL too.

Revision ID: 0001_foundation
Revises: 0000_base
Create Date: 2026-11-26 15:27:58.724103
"""
import sqlalchemy as sa
from alembic import op


revision = '0001_foundation'
down_revision = '0000_base'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('doc_type', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("doc_type IN ('sop', 'process_card', 'work_instruction', 'specification', 'form')", name=op.f('ck_documents_doc_type')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('code', name=op.f('uq_documents_code'))
    )
    op.create_table('equipment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('equipment_type', sa.String(length=64), nullable=False),
    sa.Column('work_centre', sa.String(length=64), nullable=False),
    sa.Column('manufacturer', sa.String(length=200), nullable=False),
    sa.Column('serial_number', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('calibration_required', sa.Boolean(), nullable=False),
    sa.Column('calibration_interval_days', sa.Integer(), nullable=True),
    sa.Column('last_calibrated_on', sa.Date(), nullable=True),
    sa.Column('calibration_due_on', sa.Date(), nullable=True),
    sa.Column('maintenance_interval_days', sa.Integer(), nullable=True),
    sa.Column('last_maintained_on', sa.Date(), nullable=True),
    sa.Column('maintenance_due_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'out_of_service', 'obsolete')", name=op.f('ck_equipment_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_equipment')),
    sa.UniqueConstraint('code', name=op.f('uq_equipment_code'))
    )
    op.create_table('items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('item_type', sa.String(length=32), nullable=False),
    sa.Column('base_unit', sa.String(length=32), nullable=False),
    sa.Column('purchased', sa.Boolean(), nullable=False),
    sa.Column('specification', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("item_type IN ('raw_material', 'component', 'subassembly', 'packaging', 'finished_good')", name=op.f('ck_items_item_type')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items')),
    sa.UniqueConstraint('code', name=op.f('uq_items_code'))
    )
    op.create_table('tooling',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('tooling_type', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('life_cycles', sa.Integer(), nullable=True),
    sa.Column('cycles_used', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'out_of_service', 'obsolete')", name=op.f('ck_tooling_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tooling')),
    sa.UniqueConstraint('code', name=op.f('uq_tooling_code'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('printed_name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('must_change_password', sa.Boolean(), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("locale IN ('zh_CN', 'en')", name=op.f('ck_users_locale')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('boms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_boms_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_boms')),
    sa.UniqueConstraint('code', name=op.f('uq_boms_code')),
    sa.UniqueConstraint('item_id', name=op.f('uq_boms_item_id'))
    )
    op.create_table('document_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('file_type', sa.String(length=100), nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('file_content', sa.LargeBinary(), nullable=True),
    sa.Column('label', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('change_summary', sa.Text(), nullable=False),
    sa.Column('change_ref', sa.String(length=64), nullable=True),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_by_id', sa.Integer(), nullable=True),
    sa.Column('obsoleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('obsoleted_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("state IN ('draft', 'in_review', 'released', 'obsolete')", name=op.f('ck_document_revisions_state')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_document_revisions_created_by_id_users')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_revisions_document_id_documents')),
    sa.ForeignKeyConstraint(['obsoleted_by_id'], ['users.id'], name=op.f('fk_document_revisions_obsoleted_by_id_users')),
    sa.ForeignKeyConstraint(['released_by_id'], ['users.id'], name=op.f('fk_document_revisions_released_by_id_users')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_document_revisions_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_revisions')),
    sa.UniqueConstraint('document_id', 'label', name=op.f('uq_document_revisions_document_id_label'))
    )
    with op.batch_alter_table('document_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_revisions_document_id'), ['document_id'], unique=False)
        batch_op.create_index('uq_document_revisions_effective', ['document_id'], unique=True, sqlite_where=sa.text("state = 'released'"), postgresql_where=sa.text("state = 'released'"))

    op.create_table('equipment_logs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('performed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('performed_by', sa.String(length=200), nullable=False),
    sa.Column('result', sa.String(length=8), nullable=False),
    sa.Column('certificate_ref', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('maintenance', 'calibration', 'breakdown', 'repair')", name=op.f('ck_equipment_logs_kind')),
    sa.CheckConstraint("result IN ('pass', 'fail', 'n/a')", name=op.f('ck_equipment_logs_result')),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_equipment_logs_equipment_id_equipment')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_equipment_logs_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_equipment_logs'))
    )
    with op.batch_alter_table('equipment_logs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_equipment_logs_equipment_id'), ['equipment_id'], unique=False)

    op.create_table('products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_products_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('code', name=op.f('uq_products_code')),
    sa.UniqueConstraint('item_id', name=op.f('uq_products_item_id'))
    )
    op.create_table('routings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_routings_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routings')),
    sa.UniqueConstraint('code', name=op.f('uq_routings_code')),
    sa.UniqueConstraint('item_id', name=op.f('uq_routings_item_id'))
    )
    op.create_table('supplier_lots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('supplier', sa.String(length=200), nullable=False),
    sa.Column('supplier_lot_number', sa.String(length=100), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('quantity_received', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('certificate_ref', sa.String(length=200), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_supplier_lots_item_id_items')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_supplier_lots_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supplier_lots')),
    sa.UniqueConstraint('supplier', 'supplier_lot_number', 'item_id', name=op.f('uq_supplier_lots_supplier_supplier_lot_number_item_id'))
    )
    with op.batch_alter_table('supplier_lots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supplier_lots_item_id'), ['item_id'], unique=False)

    op.create_table('user_roles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('operator', 'process_engineer', 'production_manager', 'qa_engineer', 'qa_manager', 'regulatory', 'auditor', 'admin')", name=op.f('ck_user_roles_role')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_roles_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'role', name=op.f('pk_user_roles'))
    )
    op.create_table('bom_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bom_id', sa.Integer(), nullable=False),
    sa.Column('base_quantity', sa.Float(), nullable=False),
    sa.Column('label', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('change_summary', sa.Text(), nullable=False),
    sa.Column('change_ref', sa.String(length=64), nullable=True),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_by_id', sa.Integer(), nullable=True),
    sa.Column('obsoleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('obsoleted_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("state IN ('draft', 'in_review', 'released', 'obsolete')", name=op.f('ck_bom_revisions_state')),
    sa.ForeignKeyConstraint(['bom_id'], ['boms.id'], name=op.f('fk_bom_revisions_bom_id_boms')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_bom_revisions_created_by_id_users')),
    sa.ForeignKeyConstraint(['obsoleted_by_id'], ['users.id'], name=op.f('fk_bom_revisions_obsoleted_by_id_users')),
    sa.ForeignKeyConstraint(['released_by_id'], ['users.id'], name=op.f('fk_bom_revisions_released_by_id_users')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_bom_revisions_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bom_revisions')),
    sa.UniqueConstraint('bom_id', 'label', name=op.f('uq_bom_revisions_bom_id_label'))
    )
    with op.batch_alter_table('bom_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bom_revisions_bom_id'), ['bom_id'], unique=False)
        batch_op.create_index('uq_bom_revisions_effective', ['bom_id'], unique=True, sqlite_where=sa.text("state = 'released'"), postgresql_where=sa.text("state = 'released'"))

    op.create_table('product_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=True),
    sa.Column('udi_di', sa.String(length=64), nullable=True),
    sa.Column('issuing_agency', sa.String(length=16), nullable=False),
    sa.Column('device_class', sa.String(length=16), nullable=False),
    sa.Column('sterile', sa.Boolean(), nullable=False),
    sa.Column('sterilisation_method', sa.String(length=32), nullable=False),
    sa.Column('shelf_life_months', sa.Integer(), nullable=True),
    sa.Column('registration_number', sa.String(length=100), nullable=False),
    sa.Column('label', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('change_summary', sa.Text(), nullable=False),
    sa.Column('change_ref', sa.String(length=64), nullable=True),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_by_id', sa.Integer(), nullable=True),
    sa.Column('obsoleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('obsoleted_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("state IN ('draft', 'in_review', 'released', 'obsolete')", name=op.f('ck_product_revisions_state')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_product_revisions_created_by_id_users')),
    sa.ForeignKeyConstraint(['obsoleted_by_id'], ['users.id'], name=op.f('fk_product_revisions_obsoleted_by_id_users')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_revisions_product_id_products')),
    sa.ForeignKeyConstraint(['released_by_id'], ['users.id'], name=op.f('fk_product_revisions_released_by_id_users')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_product_revisions_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_revisions')),
    sa.UniqueConstraint('product_id', 'label', name=op.f('uq_product_revisions_product_id_label'))
    )
    with op.batch_alter_table('product_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_revisions_product_id'), ['product_id'], unique=False)
        batch_op.create_index('uq_product_revisions_effective', ['product_id'], unique=True, sqlite_where=sa.text("state = 'released'"), postgresql_where=sa.text("state = 'released'"))

    op.create_table('routing_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('routing_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('change_summary', sa.Text(), nullable=False),
    sa.Column('change_ref', sa.String(length=64), nullable=True),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_by_id', sa.Integer(), nullable=True),
    sa.Column('obsoleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('obsoleted_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("state IN ('draft', 'in_review', 'released', 'obsolete')", name=op.f('ck_routing_revisions_state')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_routing_revisions_created_by_id_users')),
    sa.ForeignKeyConstraint(['obsoleted_by_id'], ['users.id'], name=op.f('fk_routing_revisions_obsoleted_by_id_users')),
    sa.ForeignKeyConstraint(['released_by_id'], ['users.id'], name=op.f('fk_routing_revisions_released_by_id_users')),
    sa.ForeignKeyConstraint(['routing_id'], ['routings.id'], name=op.f('fk_routing_revisions_routing_id_routings')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_routing_revisions_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_revisions')),
    sa.UniqueConstraint('routing_id', 'label', name=op.f('uq_routing_revisions_routing_id_label'))
    )
    with op.batch_alter_table('routing_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routing_revisions_routing_id'), ['routing_id'], unique=False)
        batch_op.create_index('uq_routing_revisions_effective', ['routing_id'], unique=True, sqlite_where=sa.text("state = 'released'"), postgresql_where=sa.text("state = 'released'"))

    op.create_table('training_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('document_revision_id', sa.Integer(), nullable=False),
    sa.Column('trained_on', sa.Date(), nullable=False),
    sa.Column('trainer', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['document_revision_id'], ['document_revisions.id'], name=op.f('fk_training_records_document_revision_id_document_revisions')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_training_records_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_training_records_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_records')),
    sa.UniqueConstraint('user_id', 'document_revision_id', name=op.f('uq_training_records_user_id_document_revision_id'))
    )
    with op.batch_alter_table('training_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_records_document_revision_id'), ['document_revision_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_records_user_id'), ['user_id'], unique=False)

    op.create_table('bom_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bom_revision_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_bom_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['bom_revision_id'], ['bom_revisions.id'], name=op.f('fk_bom_lines_bom_revision_id_bom_revisions')),
    sa.ForeignKeyConstraint(['component_id'], ['items.id'], name=op.f('fk_bom_lines_component_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bom_lines')),
    sa.UniqueConstraint('bom_revision_id', 'position', name=op.f('uq_bom_lines_bom_revision_id_position'))
    )
    with op.batch_alter_table('bom_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bom_lines_bom_revision_id'), ['bom_revision_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bom_lines_component_id'), ['component_id'], unique=False)

    op.create_table('lots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_number', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('product_revision_id', sa.Integer(), nullable=True),
    sa.Column('bom_revision_id', sa.Integer(), nullable=True),
    sa.Column('routing_revision_id', sa.Integer(), nullable=True),
    sa.Column('supplier_lot_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('quantity_planned', sa.Float(), nullable=False),
    sa.Column('quantity_made', sa.Float(), nullable=False),
    sa.Column('quantity_approved', sa.Float(), nullable=False),
    sa.Column('manifest', sa.JSON(), nullable=True),
    sa.Column('manifest_sha256', sa.String(length=64), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dispositioned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.CheckConstraint("source IN ('made', 'purchased')", name=op.f('ck_lots_source')),
    sa.CheckConstraint("status IN ('planned', 'in_process', 'on_hold', 'completed', 'released', 'rejected')", name=op.f('ck_lots_status')),
    sa.CheckConstraint('quantity_approved <= quantity_made', name=op.f('ck_lots_approved_le_made')),
    sa.CheckConstraint('quantity_made >= 0 AND quantity_approved >= 0', name=op.f('ck_lots_quantities_non_negative')),
    sa.ForeignKeyConstraint(['bom_revision_id'], ['bom_revisions.id'], name=op.f('fk_lots_bom_revision_id_bom_revisions')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_lots_item_id_items')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_lots_product_id_products')),
    sa.ForeignKeyConstraint(['product_revision_id'], ['product_revisions.id'], name=op.f('fk_lots_product_revision_id_product_revisions')),
    sa.ForeignKeyConstraint(['routing_revision_id'], ['routing_revisions.id'], name=op.f('fk_lots_routing_revision_id_routing_revisions')),
    sa.ForeignKeyConstraint(['supplier_lot_id'], ['supplier_lots.id'], name=op.f('fk_lots_supplier_lot_id_supplier_lots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lots')),
    sa.UniqueConstraint('lot_number', name=op.f('uq_lots_lot_number')),
    sa.UniqueConstraint('supplier_lot_id', name=op.f('uq_lots_supplier_lot_id'))
    )
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lots_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lots_manifest_sha256'), ['manifest_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_lots_product_id'), ['product_id'], unique=False)

    op.create_table('routing_operations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('routing_revision_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('work_centre', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('qc_point', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['routing_revision_id'], ['routing_revisions.id'], name=op.f('fk_routing_operations_routing_revision_id_routing_revisions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_operations')),
    sa.UniqueConstraint('routing_revision_id', 'sequence', name=op.f('uq_routing_operations_routing_revision_id_sequence'))
    )
    with op.batch_alter_table('routing_operations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routing_operations_routing_revision_id'), ['routing_revision_id'], unique=False)

    op.create_table('inspection_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('operation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('sample_size', sa.Integer(), nullable=False),
    sa.Column('acceptance_criteria', sa.Text(), nullable=False),
    sa.Column('accept_number', sa.Integer(), nullable=True),
    sa.Column('unit', sa.String(length=32), nullable=True),
    sa.Column('lsl', sa.Float(), nullable=True),
    sa.Column('usl', sa.Float(), nullable=True),
    sa.CheckConstraint("kind IN ('variable', 'attribute')", name=op.f('ck_inspection_items_kind')),
    sa.CheckConstraint('sample_size > 0', name=op.f('ck_inspection_items_sample_size_positive')),
    sa.ForeignKeyConstraint(['operation_id'], ['routing_operations.id'], name=op.f('fk_inspection_items_operation_id_routing_operations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_items')),
    sa.UniqueConstraint('operation_id', 'name', name=op.f('uq_inspection_items_operation_id_name'))
    )
    with op.batch_alter_table('inspection_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_items_operation_id'), ['operation_id'], unique=False)

    op.create_table('material_consumptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('parent_lot_id', sa.Integer(), nullable=False),
    sa.Column('component_lot_id', sa.Integer(), nullable=False),
    sa.Column('bom_line_id', sa.Integer(), nullable=True),
    sa.Column('quantity', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('consumed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('parent_lot_id <> component_lot_id', name=op.f('ck_material_consumptions_not_self')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_material_consumptions_quantity_positive')),
    sa.ForeignKeyConstraint(['bom_line_id'], ['bom_lines.id'], name=op.f('fk_material_consumptions_bom_line_id_bom_lines')),
    sa.ForeignKeyConstraint(['component_lot_id'], ['lots.id'], name=op.f('fk_material_consumptions_component_lot_id_lots')),
    sa.ForeignKeyConstraint(['parent_lot_id'], ['lots.id'], name=op.f('fk_material_consumptions_parent_lot_id_lots')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_material_consumptions_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_material_consumptions'))
    )
    with op.batch_alter_table('material_consumptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_material_consumptions_component_lot_id'), ['component_lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_material_consumptions_parent_lot_id'), ['parent_lot_id'], unique=False)

    op.create_table('operation_documents',
    sa.Column('operation_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.CheckConstraint("purpose IN ('sop', 'process_card', 'work_instruction')", name=op.f('ck_operation_documents_purpose')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_operation_documents_document_id_documents')),
    sa.ForeignKeyConstraint(['operation_id'], ['routing_operations.id'], name=op.f('fk_operation_documents_operation_id_routing_operations')),
    sa.PrimaryKeyConstraint('operation_id', 'document_id', name=op.f('pk_operation_documents'))
    )
    op.create_table('operation_equipment',
    sa.Column('operation_id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_operation_equipment_equipment_id_equipment')),
    sa.ForeignKeyConstraint(['operation_id'], ['routing_operations.id'], name=op.f('fk_operation_equipment_operation_id_routing_operations')),
    sa.PrimaryKeyConstraint('operation_id', 'equipment_id', name=op.f('pk_operation_equipment'))
    )
    op.create_table('operation_executions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('routing_operation_id', sa.Integer(), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=True),
    sa.Column('tooling_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('quantity_good', sa.Float(), nullable=True),
    sa.Column('quantity_scrap', sa.Float(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_operation_executions_equipment_id_equipment')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_operation_executions_lot_id_lots')),
    sa.ForeignKeyConstraint(['operator_id'], ['users.id'], name=op.f('fk_operation_executions_operator_id_users')),
    sa.ForeignKeyConstraint(['routing_operation_id'], ['routing_operations.id'], name=op.f('fk_operation_executions_routing_operation_id_routing_operations')),
    sa.ForeignKeyConstraint(['tooling_id'], ['tooling.id'], name=op.f('fk_operation_executions_tooling_id_tooling')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operation_executions'))
    )
    with op.batch_alter_table('operation_executions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operation_executions_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_operation_executions_operator_id'), ['operator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_operation_executions_routing_operation_id'), ['routing_operation_id'], unique=False)

    op.create_table('operation_parameters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('operation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('target', sa.Float(), nullable=True),
    sa.Column('lsl', sa.Float(), nullable=True),
    sa.Column('usl', sa.Float(), nullable=True),
    sa.Column('lcl', sa.Float(), nullable=True),
    sa.Column('ucl', sa.Float(), nullable=True),
    sa.Column('critical', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['operation_id'], ['routing_operations.id'], name=op.f('fk_operation_parameters_operation_id_routing_operations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operation_parameters')),
    sa.UniqueConstraint('operation_id', 'name', name=op.f('uq_operation_parameters_operation_id_name'))
    )
    with op.batch_alter_table('operation_parameters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operation_parameters_operation_id'), ['operation_id'], unique=False)

    op.create_table('operation_tooling',
    sa.Column('operation_id', sa.Integer(), nullable=False),
    sa.Column('tooling_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['operation_id'], ['routing_operations.id'], name=op.f('fk_operation_tooling_operation_id_routing_operations')),
    sa.ForeignKeyConstraint(['tooling_id'], ['tooling.id'], name=op.f('fk_operation_tooling_tooling_id_tooling')),
    sa.PrimaryKeyConstraint('operation_id', 'tooling_id', name=op.f('pk_operation_tooling'))
    )
    op.create_table('inspection_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('inspection_item_id', sa.Integer(), nullable=False),
    sa.Column('sample_size', sa.Integer(), nullable=False),
    sa.Column('defects_found', sa.Integer(), nullable=False),
    sa.Column('measured_value', sa.Float(), nullable=True),
    sa.Column('unit', sa.String(length=32), nullable=True),
    sa.Column('result', sa.String(length=8), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('inspected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('inspector_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('correction_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("result IN ('pass', 'fail')", name=op.f('ck_inspection_results_result')),
    sa.ForeignKeyConstraint(['inspection_item_id'], ['inspection_items.id'], name=op.f('fk_inspection_results_inspection_item_id_inspection_items')),
    sa.ForeignKeyConstraint(['inspector_id'], ['users.id'], name=op.f('fk_inspection_results_inspector_id_users')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_inspection_results_lot_id_lots')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['inspection_results.id'], name=op.f('fk_inspection_results_supersedes_id_inspection_results')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_results')),
    sa.UniqueConstraint('supersedes_id', name=op.f('uq_inspection_results_supersedes_id'))
    )
    with op.batch_alter_table('inspection_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_results_inspection_item_id'), ['inspection_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_results_lot_id'), ['lot_id'], unique=False)

    op.create_table('parameter_measurements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('parameter_id', sa.Integer(), nullable=False),
    sa.Column('execution_id', sa.Integer(), nullable=True),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('in_spec', sa.Boolean(), nullable=True),
    sa.Column('measured_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=True),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('correction_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("source IN ('manual', 'api', 'import')", name=op.f('ck_parameter_measurements_source')),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_parameter_measurements_equipment_id_equipment')),
    sa.ForeignKeyConstraint(['execution_id'], ['operation_executions.id'], name=op.f('fk_parameter_measurements_execution_id_operation_executions')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_parameter_measurements_lot_id_lots')),
    sa.ForeignKeyConstraint(['parameter_id'], ['operation_parameters.id'], name=op.f('fk_parameter_measurements_parameter_id_operation_parameters')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_parameter_measurements_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['parameter_measurements.id'], name=op.f('fk_parameter_measurements_supersedes_id_parameter_measurements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parameter_measurements')),
    sa.UniqueConstraint('supersedes_id', name=op.f('uq_parameter_measurements_supersedes_id'))
    )
    with op.batch_alter_table('parameter_measurements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parameter_measurements_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_parameter_measurements_parameter_id'), ['parameter_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        _create_pg_guards()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _drop_pg_guards()
    with op.batch_alter_table('parameter_measurements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parameter_measurements_parameter_id'))
        batch_op.drop_index(batch_op.f('ix_parameter_measurements_lot_id'))

    op.drop_table('parameter_measurements')
    with op.batch_alter_table('inspection_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_results_lot_id'))
        batch_op.drop_index(batch_op.f('ix_inspection_results_inspection_item_id'))

    op.drop_table('inspection_results')
    op.drop_table('operation_tooling')
    with op.batch_alter_table('operation_parameters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_operation_parameters_operation_id'))

    op.drop_table('operation_parameters')
    with op.batch_alter_table('operation_executions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_operation_executions_routing_operation_id'))
        batch_op.drop_index(batch_op.f('ix_operation_executions_operator_id'))
        batch_op.drop_index(batch_op.f('ix_operation_executions_lot_id'))

    op.drop_table('operation_executions')
    op.drop_table('operation_equipment')
    op.drop_table('operation_documents')
    with op.batch_alter_table('material_consumptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_material_consumptions_parent_lot_id'))
        batch_op.drop_index(batch_op.f('ix_material_consumptions_component_lot_id'))

    op.drop_table('material_consumptions')
    with op.batch_alter_table('inspection_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_items_operation_id'))

    op.drop_table('inspection_items')
    with op.batch_alter_table('routing_operations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routing_operations_routing_revision_id'))

    op.drop_table('routing_operations')
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lots_product_id'))
        batch_op.drop_index(batch_op.f('ix_lots_manifest_sha256'))
        batch_op.drop_index(batch_op.f('ix_lots_item_id'))

    op.drop_table('lots')
    with op.batch_alter_table('bom_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bom_lines_component_id'))
        batch_op.drop_index(batch_op.f('ix_bom_lines_bom_revision_id'))

    op.drop_table('bom_lines')
    with op.batch_alter_table('training_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_records_user_id'))
        batch_op.drop_index(batch_op.f('ix_training_records_document_revision_id'))

    op.drop_table('training_records')
    with op.batch_alter_table('routing_revisions', schema=None) as batch_op:
        batch_op.drop_index('uq_routing_revisions_effective', sqlite_where=sa.text("state = 'released'"), postgresql_where=sa.text("state = 'released'"))
        batch_op.drop_index(batch_op.f('ix_routing_revisions_routing_id'))

    op.drop_table('routing_revisions')
    with op.batch_alter_table('product_revisions', schema=None) as batch_op:
        batch_op.drop_index('uq_product_revisions_effective', sqlite_where=sa.text("state = 'released'"), postgresql_where=sa.text("state = 'released'"))
        batch_op.drop_index(batch_op.f('ix_product_revisions_product_id'))

    op.drop_table('product_revisions')
    with op.batch_alter_table('bom_revisions', schema=None) as batch_op:
        batch_op.drop_index('uq_bom_revisions_effective', sqlite_where=sa.text("state = 'released'"), postgresql_where=sa.text("state = 'released'"))
        batch_op.drop_index(batch_op.f('ix_bom_revisions_bom_id'))

    op.drop_table('bom_revisions')
    op.drop_table('user_roles')
    with op.batch_alter_table('supplier_lots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supplier_lots_item_id'))

    op.drop_table('supplier_lots')
    op.drop_table('routings')
    op.drop_table('products')
    with op.batch_alter_table('equipment_logs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_equipment_logs_equipment_id'))

    op.drop_table('equipment_logs')
    with op.batch_alter_table('document_revisions', schema=None) as batch_op:
        batch_op.drop_index('uq_document_revisions_effective', sqlite_where=sa.text("state = 'released'"), postgresql_where=sa.text("state = 'released'"))
        batch_op.drop_index(batch_op.f('ix_document_revisions_document_id'))

    op.drop_table('document_revisions')
    op.drop_table('boms')
    op.drop_table('users')
    op.drop_table('tooling')
    op.drop_table('items')
    op.drop_table('equipment')
    op.drop_table('documents')


REVISION_TABLES = ("product_revisions", "bom_revisions", "routing_revisions", "document_revisions")
# child table -> (foreign key column, parent table, how to reach the revision)
CHILD_TABLES = {
    "bom_lines": ("bom_revision_id", "bom_revisions", "direct"),
    "routing_operations": ("routing_revision_id", "routing_revisions", "direct"),
    "operation_parameters": ("operation_id", "routing_operations", "operation"),
    "inspection_items": ("operation_id", "routing_operations", "operation"),
    "operation_equipment": ("operation_id", "routing_operations", "operation"),
    "operation_tooling": ("operation_id", "routing_operations", "operation"),
    "operation_documents": ("operation_id", "routing_operations", "operation"),
}
APPEND_ONLY_TABLES = ("parameter_measurements", "inspection_results", "equipment_logs")

_GUARD_REVISION = """
CREATE OR REPLACE FUNCTION sealtrail_guard_revision() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    allowed text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'draft' THEN
            RAISE EXCEPTION 'sealtrail: a new % row starts as draft, not %', TG_TABLE_NAME, NEW.state
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF OLD.state <> 'draft' THEN
            RAISE EXCEPTION 'sealtrail: % id=% is % and cannot be deleted', TG_TABLE_NAME, OLD.id, OLD.state
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.state = 'draft' AND NEW.state IN ('draft', 'in_review') THEN
        RETURN NEW;
    ELSIF OLD.state = 'in_review' AND NEW.state = 'draft' THEN
        allowed := ARRAY['state', 'submitted_at', 'submitted_by_id'];
    ELSIF OLD.state = 'in_review' AND NEW.state = 'released' THEN
        allowed := ARRAY['state', 'effective_from', 'released_at', 'released_by_id'];
    ELSIF OLD.state = 'released' AND NEW.state = 'obsolete' THEN
        allowed := ARRAY['state', 'obsoleted_at', 'obsoleted_by_id'];
    END IF;
    IF allowed IS NULL THEN
        RAISE EXCEPTION 'sealtrail: % id=% is %: update to state % refused (a released revision is immutable)',
            TG_TABLE_NAME, OLD.id, OLD.state, NEW.state USING ERRCODE = 'check_violation';
    END IF;
    IF (to_jsonb(OLD) - allowed) IS DISTINCT FROM (to_jsonb(NEW) - allowed) THEN
        RAISE EXCEPTION 'sealtrail: % id=% is %: its content is immutable', TG_TABLE_NAME, OLD.id, OLD.state
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$
"""

_GUARD_CHILD = """
CREATE OR REPLACE FUNCTION sealtrail_guard_revision_child() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    fk text := TG_ARGV[0];
    parent text := TG_ARGV[1];
    via text := TG_ARGV[2];
    rows_ jsonb[] := ARRAY[]::jsonb[];
    r jsonb;
    st text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN rows_ := rows_ || to_jsonb(OLD); END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN rows_ := rows_ || to_jsonb(NEW); END IF;
    FOREACH r IN ARRAY rows_ LOOP
        IF via = 'operation' THEN
            SELECT rv.state INTO st FROM routing_operations o
              JOIN routing_revisions rv ON rv.id = o.routing_revision_id
             WHERE o.id = (r ->> fk)::integer;
        ELSE
            EXECUTE format('SELECT state FROM %I WHERE id = $1', parent) INTO st USING (r ->> fk)::integer;
        END IF;
        IF st IS NOT NULL AND st <> 'draft' THEN
            RAISE EXCEPTION 'sealtrail: % of a % revision cannot be changed (only drafts are editable)',
                TG_TABLE_NAME, st USING ERRCODE = 'check_violation';
        END IF;
    END LOOP;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END
$$
"""

_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION sealtrail_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'sealtrail: % is append-only (% refused); record a correction instead',
        TG_TABLE_NAME, TG_OP USING ERRCODE = 'check_violation';
END
$$
"""


def _create_pg_guards() -> None:
    op.execute(_GUARD_REVISION)
    op.execute(_GUARD_CHILD)
    op.execute(_APPEND_ONLY)
    for table in REVISION_TABLES:
        op.execute(f"CREATE TRIGGER {table}_guard BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION sealtrail_guard_revision()")
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_guard")
    for table, (fk, parent, via) in CHILD_TABLES.items():
        op.execute(f"CREATE TRIGGER {table}_guard BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION sealtrail_guard_revision_child('{fk}', '{parent}', '{via}')")
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_guard")
    for table in APPEND_ONLY_TABLES:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION sealtrail_append_only()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION sealtrail_append_only()")
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_append_only")
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate")


def _drop_pg_guards() -> None:
    for table in (*REVISION_TABLES, *CHILD_TABLES):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_guard ON {table}")
    for table in APPEND_ONLY_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS sealtrail_guard_revision()")
    op.execute("DROP FUNCTION IF EXISTS sealtrail_guard_revision_child()")
    op.execute("DROP FUNCTION IF EXISTS sealtrail_append_only()")
