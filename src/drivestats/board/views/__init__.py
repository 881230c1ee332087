"""The board's views, one module per kind of page: each builds one plain dict, served as JSON
or rendered as HTML.

The board never writes: no view makes a job, records the use of one, rolls an
import's journal forward or creates a file; the catalog is opened read-only.
Views read the catalog, job manifests and the fleet tables, never the store's month files.
Derived numbers come from jobs that ``drivestats demo``, ``drivestats afr`` or
``drivestats survival`` made, looked up with ``reuse_only`` (``fleet.fleet_tables``,
``rates.afr_job``, ``rates.survival_job``), so a page's figures carry a job id. When the
store has changed since the fleet tables were made, the pages show the newest
fleet tables there are and say where they stop. An AFR table nobody made is
computed in memory with the same functions as the afr stage and marked as such;
survival curves nobody made are a command to run.
Everything computed from a job is cached by the job's folder: a job never changes.
"""

from drivestats.board.views.common import FILES_SHOWN, Board, NotFound, model_url
from drivestats.board.views.compare import compare_page
from drivestats.board.views.failure_rates import computed_afr, rates_page
from drivestats.board.views.fleet_history import fleet_page
from drivestats.board.views.home import home_page
from drivestats.board.views.job_pages import job_page, jobs_page
from drivestats.board.views.lineage import lineage_page, neighbourhood
from drivestats.board.views.log import runs_page
from drivestats.board.views.models import model_block_png, model_page, models_index_page
from drivestats.board.views.sources import sources_page

__all__ = [
    "FILES_SHOWN",
    "Board",
    "NotFound",
    "compare_page",
    "computed_afr",
    "fleet_page",
    "home_page",
    "job_page",
    "jobs_page",
    "lineage_page",
    "model_block_png",
    "model_page",
    "model_url",
    "models_index_page",
    "neighbourhood",
    "rates_page",
    "runs_page",
    "sources_page",
]
