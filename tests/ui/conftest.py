"""AppTest set-up: the pages run against the migrated test database.

Tests that open a single page (``AppTest.from_file("pages/x.py")``) need nothing more. Tests that
open the whole app (``app.py``) use ``run_app_py_on_every_rerun``: AppTest resets Streamlit's "uses
the pages/ directory" flag before every run, and because ``pages/`` sits beside ``app.py`` it would
run the last page's script on its own from the second run on (Streamlit's old MPA v1 mode),
skipping app.py's sign-in gate. A real server follows ``st.navigation`` after its first run. This is
the one place the tests reach into Streamlit's internals; the layout (``app.py`` beside ``pages/``)
is fixed, so it stays, limited to the tests that drive app.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.scriptrunner import script_runner


def _run_main_script_first(main_script_path: str) -> None:
    from streamlit.commands.navigation import _navigation
    from streamlit.navigation.page import _create_page

    main_page = _create_page(Path(main_script_path).resolve(), default=True)
    _navigation([main_page], position="hidden", expanded=False).run()


@pytest.fixture
def run_app_py_on_every_rerun(monkeypatch: pytest.MonkeyPatch) -> None:
    """Route AppTest's MPA v1 path through app.py, as ``streamlit run`` does."""
    monkeypatch.setattr(script_runner, "_mpa_v1", _run_main_script_first)


@pytest.fixture(autouse=True)
def _migrated(database: str) -> None:
    """The pages run against the migrated test database."""
