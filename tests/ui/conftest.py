"""AppTest set-up for a multipage app whose pages live in ``pages/``.

AppTest resets Streamlit's "uses the pages/ directory" flag before every run, so from the
second run on it would run the last page's script on its own (Streamlit's old MPA v1 mode),
skipping app.py's sign-in gate. A real server sets the flag once per process and then follows
``st.navigation``. This fixture makes every AppTest run start at app.py, as the server does.
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


@pytest.fixture(autouse=True)
def run_app_py_on_every_rerun(monkeypatch: pytest.MonkeyPatch) -> None:
    """Route AppTest's MPA v1 path through app.py, as ``streamlit run`` does."""
    monkeypatch.setattr(script_runner, "_mpa_v1", _run_main_script_first)


@pytest.fixture(autouse=True)
def _migrated(database: str) -> None:
    """The pages run against the migrated test database."""
