"""Messages of run (see trainer/texts/__init__.py)."""

TEXTS: dict[str, tuple[str, str]] = {
    "common.hint_prefix": ("怎么办：{hint}", "hint: {hint}"),
}
