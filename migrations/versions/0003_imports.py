"""imports: aggregate evidence weights, imported incidents and samples, country overrides

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import labelbench.db.base
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
_KEY = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_MEASUREMENTS = (
    "(measurements IS NULL AND anomalous_measurements IS NULL) OR "
    "(measurements >= 1 AND anomalous_measurements >= 0 "
    "AND anomalous_measurements <= measurements)"
)


def upgrade() -> None:
    # Batch mode: SQLite cannot add constraints to an existing table, so Alembic recreates it.
    with op.batch_alter_table('evidence') as batch:
        batch.add_column(sa.Column('measurements', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('anomalous_measurements', sa.Integer(), nullable=True))
        batch.create_check_constraint(op.f('ck_evidence_measurements'), _MEASUREMENTS)
    with op.batch_alter_table('incidents') as batch:
        batch.add_column(sa.Column('open_ended', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column('import_key', sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f('uq_incidents_import_key'), ['import_key'])
    with op.batch_alter_table('samples') as batch:
        batch.add_column(sa.Column('origin', sa.String(length=10), server_default='evidence', nullable=False))
        batch.add_column(sa.Column('given_label', sa.SmallInteger(), nullable=True))
        batch.create_check_constraint(op.f('ck_samples_origin'), "origin IN ('evidence', 'import')")
        batch.create_check_constraint(op.f('ck_samples_given_label'), 'given_label IN (0, 1)')
    with op.batch_alter_table('country_neighbours') as batch:
        batch.drop_constraint(op.f('ck_country_neighbours_relation'), type_='check')
        batch.create_check_constraint(
            op.f('ck_country_neighbours_relation'),
            "relation IN ('subregion', 'border', 'both', 'custom')"
        )
    op.create_table('country_overrides',
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('cluster_set', sa.Boolean(), nullable=False),
    sa.Column('cluster', sa.String(length=60), nullable=True),
    sa.Column('neighbours', _JSON, nullable=True),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('updated_at', labelbench.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['country'], ['countries.code'], name=op.f('fk_country_overrides_country_countries')),
    sa.PrimaryKeyConstraint('country', name=op.f('pk_country_overrides'))
    )
    op.create_table('import_runs',
    sa.Column('id', _KEY, autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('file_name', sa.Text(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('started_at', labelbench.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', labelbench.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('counts', _JSON, nullable=False),
    sa.Column('options', _JSON, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_runs'))
    )


def downgrade() -> None:
    op.drop_table('import_runs')
    op.drop_table('country_overrides')
    op.execute("DELETE FROM country_neighbours WHERE relation = 'custom'")
    with op.batch_alter_table('country_neighbours') as batch:
        batch.drop_constraint(op.f('ck_country_neighbours_relation'), type_='check')
        batch.create_check_constraint(
            op.f('ck_country_neighbours_relation'), "relation IN ('subregion', 'border', 'both')"
        )
    op.execute(
        "DELETE FROM samples WHERE origin = 'import' AND id NOT IN (SELECT sample_id FROM labels)"
        " AND id NOT IN (SELECT sample_id FROM queue_items)"
    )
    with op.batch_alter_table('samples') as batch:
        batch.drop_constraint(op.f('ck_samples_given_label'), type_='check')
        batch.drop_constraint(op.f('ck_samples_origin'), type_='check')
        batch.drop_column('given_label')
        batch.drop_column('origin')
    with op.batch_alter_table('incidents') as batch:
        batch.drop_constraint(op.f('uq_incidents_import_key'), type_='unique')
        batch.drop_column('import_key')
        batch.drop_column('open_ended')
    with op.batch_alter_table('evidence') as batch:
        batch.drop_constraint(op.f('ck_evidence_measurements'), type_='check')
        batch.drop_column('anomalous_measurements')
        batch.drop_column('measurements')
