"""candidate days: every country-day with evidence is stored, flagged when below the sample rule

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows are all production samples (>= min_evidence rows), hence the false default.
    with op.batch_alter_table('samples') as batch:
        batch.add_column(
            sa.Column('candidate_only', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.create_index('ix_samples_candidate_only_country', ['candidate_only', 'country'])


def downgrade() -> None:
    # Candidate days nobody labelled or queued go; labelled ones stay as (stale) samples, as a
    # sample that fell below the threshold did before candidates existed.
    op.execute(
        "DELETE FROM samples WHERE candidate_only AND id NOT IN (SELECT sample_id FROM labels)"
        " AND id NOT IN (SELECT sample_id FROM queue_items)"
    )
    with op.batch_alter_table('samples') as batch:
        batch.drop_index('ix_samples_candidate_only_country')
        batch.drop_column('candidate_only')
