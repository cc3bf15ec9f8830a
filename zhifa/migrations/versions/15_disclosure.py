"""行政执法公示 and 双随机: publications, 权责清单, 名录库 with history, 抽查事项, plans, draws; 执法证 validity on users

Revision ID: 15_disclosure
Revises: 0006_layout
Create Date: 2026-11-29 17:44:36.054366
"""
from alembic import op
import sqlalchemy as sa


revision = '15_disclosure'
down_revision = '0006_layout'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('power_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.Column('duties', sa.Text(), nullable=False),
    sa.Column('period', sa.String(length=300), nullable=False),
    sa.Column('fees', sa.String(length=300), nullable=False),
    sa.Column('liability', sa.Text(), nullable=False),
    sa.Column('materials', sa.Text(), nullable=False),
    sa.Column('service_phone', sa.String(length=100), nullable=False),
    sa.Column('complaint_org', sa.String(length=100), nullable=False),
    sa.Column('complaint_phone', sa.String(length=100), nullable=False),
    sa.Column('service_place', sa.String(length=300), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=True),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('regulated_entities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('industry', sa.String(length=100), nullable=False),
    sa.Column('key_polluter', sa.Boolean(), nullable=False),
    sa.Column('special_supervision', sa.Boolean(), nullable=False),
    sa.Column('risk_level', sa.String(length=8), nullable=False),
    sa.Column('township', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('credit_code')
    )
    op.create_table('spot_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.Column('target', sa.String(length=300), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('method', sa.String(length=200), nullable=False),
    sa.Column('ratio', sa.String(length=200), nullable=False),
    sa.Column('frequency', sa.String(length=200), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('regulated_entity_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('changes', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['entity_id'], ['regulated_entities.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('regulated_entity_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_regulated_entity_changes_entity_id'), ['entity_id'], unique=False)

    op.create_table('spot_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('team_size', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['spot_items.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('spot_draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('algorithm', sa.String(length=32), nullable=False),
    sa.Column('seed', sa.String(length=64), nullable=False),
    sa.Column('entities_snapshot', sa.Text(), nullable=False),
    sa.Column('entities_hash', sa.String(length=64), nullable=False),
    sa.Column('inspectors_snapshot', sa.Text(), nullable=False),
    sa.Column('inspectors_hash', sa.String(length=64), nullable=False),
    sa.Column('parameters', sa.Text(), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('result_hash', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('drawn_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('drawn_by', sa.String(length=100), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('publication_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['spot_draws.id'], ),
    sa.ForeignKeyConstraint(['plan_id'], ['spot_plans.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('spot_draws', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spot_draws_plan_id'), ['plan_id'], unique=False)

    op.create_table('spot_plan_quotas',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('ratio', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('frequency', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['spot_plans.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_id', 'category')
    )
    op.create_table('publications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('slug', sa.String(length=200), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('private_terms', sa.Text(), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('document_no', sa.String(length=100), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('drafted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by', sa.String(length=100), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawal_kind', sa.String(length=16), nullable=True),
    sa.Column('withdrawal_reason', sa.Text(), nullable=True),
    sa.Column('withdrawal_basis_on', sa.Date(), nullable=True),
    sa.Column('withdraw_due_on', sa.Date(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publications_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_publications_kind_state', ['kind', 'state', 'published_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_publications_slug'), ['slug'], unique=False)
        batch_op.create_index('ix_publications_state_due', ['state', 'due_on'], unique=False)

    op.create_table('spot_draw_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draw_id', sa.Integer(), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['draw_id'], ['spot_draws.id'], ),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('draw_id', 'credit_code')
    )
    with op.batch_alter_table('spot_draw_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spot_draw_cases_draw_id'), ['draw_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cert_valid_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('cert_valid_until', sa.Date(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('cert_valid_until')
        batch_op.drop_column('cert_valid_from')

    with op.batch_alter_table('spot_draw_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spot_draw_cases_draw_id'))

    op.drop_table('spot_draw_cases')
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.drop_index('ix_publications_state_due')
        batch_op.drop_index(batch_op.f('ix_publications_slug'))
        batch_op.drop_index('ix_publications_kind_state')
        batch_op.drop_index(batch_op.f('ix_publications_instance_id'))

    op.drop_table('publications')
    op.drop_table('spot_plan_quotas')
    with op.batch_alter_table('spot_draws', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spot_draws_plan_id'))

    op.drop_table('spot_draws')
    op.drop_table('spot_plans')
    with op.batch_alter_table('regulated_entity_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_regulated_entity_changes_entity_id'))

    op.drop_table('regulated_entity_changes')
    op.drop_table('spot_items')
    op.drop_table('regulated_entities')
    op.drop_table('power_items')
