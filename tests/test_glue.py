import importlib

import nodelib.glue


def test_glue_uses_myst_nb_when_it_is_installed(monkeypatch):
    recorded = []
    monkeypatch.setattr(nodelib.glue, "_myst_glue", lambda *a, **k: recorded.append((a, k)))
    nodelib.glue.glue("order", 4.05, display=False)
    assert recorded == [(("order", 4.05), {"display": False})]


def test_without_myst_nb_glue_still_shows_the_value(monkeypatch, capsys):
    monkeypatch.setattr(nodelib.glue, "_myst_glue", None)
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda value: shown.append(value))
    nodelib.glue.glue("order", 4.05)
    nodelib.glue.glue("hidden", 1.0, display=False)
    assert shown == [4.05]


def test_the_module_imports_without_myst_nb(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_myst_nb(name, *args, **kwargs):
        if name == "myst_nb":
            raise ImportError("not installed")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst_nb)
    module = importlib.reload(nodelib.glue)
    assert module._myst_glue is None
    monkeypatch.undo()
    importlib.reload(nodelib.glue)
