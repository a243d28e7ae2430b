"""The composition root: each part of a run built once from the settings, and only when a
command asks for it (a preview opens no journal)."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.config import Settings, SourceConfig
from bot.errors import BadConfig
from bot.sheets.google import GoogleBackend
from bot.sheets.workbook import WorkbookBackend


def test_each_part_is_built_once_and_the_journal_only_when_asked(tmp_path, book):
    settings = Settings(source=SourceConfig(kind="workbook", path=book), base_dir=tmp_path)
    with App(settings) as app:
        assert isinstance(app.backend, WorkbookBackend) and app.backend is app.backend
        assert app.notifier is app.notifier and app.notifier.channels == ()
        assert app.lock is app.lock
        assert not (tmp_path / "desk.movebot.db").exists()
        assert app.journal is app.journal
        assert app.journal.path == tmp_path / "desk.movebot.db" and app.journal.path.exists()
        assert app.journal.runs() == []


def test_the_lock_sits_beside_the_journal(tmp_path):
    settings = Settings(base_dir=tmp_path, journal={"path": "data/desk.db"})
    assert App(settings).lock.path == tmp_path / "data" / "desk.db.worker.lock"


def test_a_google_source_gets_the_google_backend(tmp_path):
    settings = Settings(
        source={"kind": "google", "spreadsheet": "1AbCdEfGhIjKlMnOpQrStUvWxYz_0123456789-xy"},
        base_dir=tmp_path,
    )
    assert isinstance(App(settings).backend, GoogleBackend)


@pytest.mark.parametrize(
    ("source", "setting"),
    [({"kind": "workbook"}, "source.path"), ({"kind": "google"}, "source.spreadsheet")],
)
def test_a_source_without_its_sheet_names_the_setting(tmp_path, source, setting):
    with pytest.raises(BadConfig, match=f"Setting {setting} is empty"):
        App(Settings(source=source, base_dir=tmp_path)).backend  # noqa: B018
