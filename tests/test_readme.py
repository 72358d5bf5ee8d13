"""The README is a promise: its commands exist and its list of config keys is the schema's."""
from conftest import ROOT

from trainer.config import TrainConfig


def test_readme_lists_every_config_key():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in TrainConfig.model_fields if f"`{name}`" not in text]
    assert not missing, f"README.md does not list: {missing}"


def test_readme_names_every_exit_code_with_its_number():
    from trainer.errors import EXIT_CODES

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    english = text[text.index("Exit codes:"):].split("\n")[0]
    assert len(EXIT_CODES) == 10
    for code in EXIT_CODES.values():
        assert f"{code} " in english, code


def test_readme_shows_both_commands_and_they_exist():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "./start.sh test" in text and "./start.sh " in text
    assert (ROOT / "start.sh").stat().st_mode & 0o111, "start.sh is not executable"
